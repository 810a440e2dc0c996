import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayMetrics, MetricsServer } from '../src/index.js';
import { CommandType } from '../src/protocol/index.js';
import { withGateway } from './support/gateway-harness.js';

/** Reads one sample from Prometheus text, e.g. `fastway_clients` or `fastway_x{a="b"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  assert.ok(line, `no sample ${series} in the scrape`);
  return Number(line.slice(series.length + 1));
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

test('metrics follow the traffic; healthz and readyz answer; readyz turns unready on drain', async () => {
  await withGateway({}, async (h) => {
    const metrics = new MetricsServer(new GatewayMetrics(h.gw), { address: '127.0.0.1:0', ready: () => h.gw.ready });
    const { port } = await metrics.listen();
    try {
      let text = (await get(port, '/metrics')).body;
      assert.equal(sample(text, 'fastway_clients'), 0);
      assert.equal(sample(text, 'fastway_frames_forwarded_total{direction="client_to_server"}'), 0);
      assert.ok(text.includes('fastway_nodejs_eventloop_lag_seconds'), 'event-loop lag is exported');

      const server = await h.server(7);
      const client = await h.client();
      const { connId } = await h.link(client, server, 7);
      for (let i = 0; i < 3; i++) client.sendData(connId, Buffer.from(`m${i}`));
      for (let i = 0; i < 3; i++) await server.expectData(connId);
      server.sendData(connId, Buffer.from('back'));
      await client.expectData(connId);
      client.sendDial(12345, 7); // not pending: refused
      await client.expectCommand(CommandType.Refuse, 12345);

      text = (await get(port, '/metrics')).body;
      assert.equal(sample(text, 'fastway_clients'), 1);
      assert.equal(sample(text, 'fastway_servers'), 1);
      assert.equal(sample(text, 'fastway_virtual_connections'), 1);
      assert.equal(sample(text, 'fastway_dials_accepted_total'), 1);
      assert.equal(sample(text, 'fastway_dials_refused_total{reason="not_pending"}'), 1);
      assert.equal(sample(text, 'fastway_frames_forwarded_total{direction="client_to_server"}'), 3);
      assert.equal(sample(text, 'fastway_frames_forwarded_total{direction="server_to_client"}'), 1);
      assert.equal(sample(text, 'fastway_bytes_forwarded_total{direction="server_to_client"}'), 8 + 4);

      assert.deepEqual(await get(port, '/healthz'), { status: 200, body: 'ok\n' });
      assert.equal((await get(port, '/readyz')).status, 200);
      assert.equal((await get(port, '/nope')).status, 404);

      const drained = h.gw.drain(10_000);
      assert.equal((await get(port, '/readyz')).status, 503);
      assert.equal(sample((await get(port, '/metrics')).body, 'fastway_draining'), 1);
      client.sendClose(connId);
      assert.equal(await drained, 0);
    } finally {
      await metrics.close();
    }
  });
});
