/**
 * Error codes as types: each class's `code` is its literal union, so
 * `switch (err.code)` narrows and a misspelt case does not compile (`npm run typecheck`
 * checks this file's types; the runtime part checks the codes the classes really carry, and
 * that docs/api.md lists every one). Also the two messages a new user meets first: a string
 * server ID is quoted, and `format: json` (not called) asks "did you mean json()?".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  AbortError,
  AuthError,
  ConnectError,
  ConnectionClosedError,
  DialRefusedError,
  DialTimeoutError,
  EndpointClosedError,
  FastwayError,
  type FastwayErrorCode,
  FormatError,
  HandshakeTimeoutError,
  InvalidOptionError,
  ListenError,
  MessageTooLargeError,
  PingTimeoutError,
  ProtocolError,
  type ProtocolErrorCode,
  ReceiveQueueFullError,
  SendQueueFullError,
  TimeoutError,
  dialClient,
  json,
  utf8,
} from '../src/index.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { withGateway, KEY } from './support/gateway-harness.js';
import {
  ClusterUnreachableError,
  GatewayIdTakenError,
  GatewayUnavailableError,
  NoGatewayError,
  RegistryError,
  UserOfflineError,
  dialServer,
  GatewaysUnreachableError,
  SessionExpiredError,
  SessionLostError,
  SessionProtocolError,
  SessionUnsupportedError,
  WindowFullError,
} from '../src/index.js';

checkNoLeaks();

// ---- Types (checked by the typecheck; never run) ----

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
const typeChecks: true[] = [
  true satisfies Equal<InvalidOptionError['code'], 'ERR_INVALID_OPTION'>,
  true satisfies Equal<DialRefusedError['code'], 'ERR_DIAL_REFUSED'>,
  true satisfies Equal<ListenError['code'], 'ERR_ADDRESS_IN_USE' | 'ERR_LISTEN'>,
  true satisfies Equal<ProtocolError['code'], ProtocolErrorCode>,
  true satisfies Equal<TimeoutError['code'], 'ERR_TIMEOUT'>,
];
void typeChecks;

/** What a caller writes: a switch on the base class's code, narrowing to each case. */
export function explain(err: FastwayError): string {
  switch (err.code) {
    case 'ERR_DIAL_REFUSED':
      return 'no such server';
    case 'ERR_ADDRESS_IN_USE':
      return 'port taken';
    // @ts-expect-error: a misspelt code is not a FastwayErrorCode, so this case does not compile
    case 'ERR_DIAL_REFUSD':
      return 'never';
    default:
      return err.code;
  }
}

/** An exhaustive switch on one class: `never` in the default proves every code is covered. */
export function listenAdvice(err: ListenError): string {
  switch (err.code) {
    case 'ERR_ADDRESS_IN_USE':
      return 'pick another port';
    case 'ERR_LISTEN':
      return 'check the address';
    default: {
      const unreachable: never = err.code;
      return unreachable;
    }
  }
}

// ---- Runtime ----

/** One of every class, and the code it must carry. Keyed by code, so a code with no class here fails the typecheck. */
const SAMPLES: Record<FastwayErrorCode, FastwayError> = {
  ERR_FRAME_TOO_SHORT: new ProtocolError('ERR_FRAME_TOO_SHORT', 'x'),
  ERR_FRAME_TOO_LARGE: new ProtocolError('ERR_FRAME_TOO_LARGE', 'x'),
  ERR_COMMAND_TRUNCATED: new ProtocolError('ERR_COMMAND_TRUNCATED', 'x'),
  ERR_UNKNOWN_COMMAND: new ProtocolError('ERR_UNKNOWN_COMMAND', 'x'),
  ERR_UNEXPECTED_COMMAND: new ProtocolError('ERR_UNEXPECTED_COMMAND', 'x'),
  ERR_FORGED_CONN_ID: new ProtocolError('ERR_FORGED_CONN_ID', 'x'),
  ERR_UNKNOWN_CONN_ID: new ProtocolError('ERR_UNKNOWN_CONN_ID', 'x'),
  ERR_TEXT_MESSAGE: new ProtocolError('ERR_TEXT_MESSAGE', 'x'),
  ERR_PARTIAL_FRAME: new ProtocolError('ERR_PARTIAL_FRAME', 'x'),
  ERR_WEBSOCKET_PROTOCOL: new ProtocolError('ERR_WEBSOCKET_PROTOCOL', 'x'),
  ERR_ADDRESS_IN_USE: new ListenError('ERR_ADDRESS_IN_USE', 'x'),
  ERR_LISTEN: new ListenError('ERR_LISTEN', 'x'),
  ERR_INVALID_OPTION: new InvalidOptionError('x', 'y'),
  ERR_AUTH_FAILED: new AuthError('x'),
  ERR_HANDSHAKE_TIMEOUT: new HandshakeTimeoutError('x'),
  ERR_CONNECT: new ConnectError('x'),
  ERR_DIAL_REFUSED: new DialRefusedError(1, 'x'),
  ERR_DIAL_TIMEOUT: new DialTimeoutError(1, 5),
  ERR_ABORTED: new AbortError(),
  ERR_TIMEOUT: new TimeoutError('x'),
  ERR_ENDPOINT_CLOSED: new EndpointClosedError(),
  ERR_CONNECTION_CLOSED: new ConnectionClosedError(),
  ERR_PING_TIMEOUT: new PingTimeoutError(5),
  ERR_MESSAGE_TOO_LARGE: new MessageTooLargeError(2, 1),
  ERR_RECV_QUEUE_FULL: new ReceiveQueueFullError(1),
  ERR_SEND_QUEUE_FULL: new SendQueueFullError(1),
  ERR_FORMAT: new FormatError('x'),
  ERR_REGISTRY: new RegistryError('x'),
  ERR_GATEWAY_ID_TAKEN: new GatewayIdTakenError('g'),
  ERR_CLUSTER_UNREACHABLE: new ClusterUnreachableError(new Map(), 5),
  ERR_GATEWAY_UNAVAILABLE: new GatewayUnavailableError('g', 'unknown'),
  ERR_USER_OFFLINE: new UserOfflineError('u'),
  ERR_NO_GATEWAY: new NoGatewayError('x'),
  ERR_SESSION_PROTOCOL: new SessionProtocolError('x'),
  ERR_SESSION_EXPIRED: new SessionExpiredError(5),
  ERR_SESSION_LOST: new SessionLostError('x'),
  ERR_SESSION_UNSUPPORTED: new SessionUnsupportedError(1, 'x'),
  ERR_WINDOW_FULL: new WindowFullError('x'),
  ERR_GATEWAYS_UNREACHABLE: new GatewaysUnreachableError([]),
};

test('every class carries the code its type names, and docs/api.md lists every code', () => {
  const errorsSection = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8').split('\n## Errors')[1] ?? '';
  assert.notEqual(errorsSection, '', 'docs/api.md has an Errors section');
  for (const [code, err] of Object.entries(SAMPLES)) {
    assert.equal(err.code, code, `${err.name}`);
    assert.ok(err instanceof FastwayError);
    assert.ok(errorsSection.includes(`\`${code}\``), `docs/api.md's Errors table lists ${code}`);
  }
  assert.equal(explain(new DialRefusedError(3, 'x')), 'no such server');
  assert.equal(listenAdvice(new ListenError('ERR_LISTEN', 'x')), 'check the address');
});

test("dial('7') quotes the bad value; format: json (not called) asks for json()", async () => {
  await withGateway({}, async (h) => {
    await assert.rejects(dialClient(`127.0.0.1:${h.clientPort}`, { format: json as never }), (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError, String(err));
      assert.equal(err.option, 'format');
      assert.match(err.message, /did you mean `json\(\)`\?/);
      return true;
    });
    await assert.rejects(dialClient(`127.0.0.1:${h.clientPort}`, { format: 'utf8' as never }), /format: .*got "utf8" \(a string\)/);
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY, format: utf8 });
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`);
    try {
      await assert.rejects(cli.dial('7' as never), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.equal(err.option, 'remoteId');
        assert.match(err.message, /got "7" \(a string\)/);
        return true;
      });
      await assert.rejects(cli.dial(1.5), /got 1\.5$/);
      await assert.rejects(dialServer(`127.0.0.1:${h.serverPort}`, { serverId: '1' as never, authKey: KEY }), /serverId: .*got "1" \(a string\)/);
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
});
