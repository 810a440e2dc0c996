/**
 * A `fastway --cluster` gateway in a child process (the real command), registered in a
 * test's redis-server with a short heartbeat and TTL, so that tests can SIGKILL or SIGTERM
 * it and watch the cluster react.
 */
import { after, before } from 'node:test';
import { KEY } from './gateway-harness.js';
import { type CliRun, killCliChildren, startCli } from './cli-process.js';
import { RedisServer } from './redis-server.js';

/** The heartbeat and TTL the test gateways run with. */
export const CHILD_HEARTBEAT_MS = 200;
export const CHILD_TTL_MS = 1500;

export interface ClusterGatewayProcess {
  run: CliRun;
  id: string;
  clientAddr: string;
  serverAddr: string;
  /** `http://127.0.0.1:<port>` of its metrics listener. */
  metricsUrl: string;
}

/** The arguments of a test cluster gateway; `extra` (`--flag value` pairs) adds flags or replaces the defaults'. */
export function clusterGatewayArgs(redisUrl: string, id: string, extra: string[] = []): string[] {
  const flags = new Map<string, string>([
    ['--cluster', redisUrl],
    ['--gateway-id', id],
    ['--client-addr', '127.0.0.1:0'],
    ['--server-addr', '127.0.0.1:0'],
    ['--metrics-addr', '127.0.0.1:0'],
    ['--server-auth-key', KEY],
    ['--cluster-heartbeat', `${CHILD_HEARTBEAT_MS}ms`],
    ['--cluster-ttl', `${CHILD_TTL_MS}ms`],
    ['--log-level', 'warn'],
  ]);
  for (let i = 0; i + 1 < extra.length; i += 2) flags.set(extra[i]!, extra[i + 1]!);
  return [...flags].flat();
}

/** Starts one and resolves once it is registered, with the addresses it printed. */
export async function startClusterGateway(redisUrl: string, id: string, extra: string[] = []): Promise<ClusterGatewayProcess> {
  const run = startCli(clusterGatewayArgs(redisUrl, id, extra), { waitTimeoutMs: 30_000 });
  await run.waitFor(/registered as gateway/);
  const clientAddr = (await run.waitFor(/listening for game clients on (\S+)/))[1]!;
  const serverAddr = (await run.waitFor(/listening for game servers on (\S+)/))[1]!;
  const metrics = (await run.waitFor(/metrics on (http:\/\/\S+)\/metrics/))[1]!;
  return { run, id, clientAddr, serverAddr, metricsUrl: metrics };
}

/**
 * For a test file of gateway processes: a redis-server started before its tests, and after
 * them every leftover `fastway` child killed and the server stopped. Returns a getter.
 */
export function redisForProcessTests(): () => RedisServer {
  let redis: RedisServer | undefined;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await killCliChildren();
    await redis?.dispose();
  });
  return () => redis!;
}
