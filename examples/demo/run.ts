/**
 * `npm run demo`: builds the browser bundle, starts a gateway with a WebSocket listener,
 * the chat room (server 1) and the page, and prints the URL. Open it in two tabs.
 *
 *   npm run demo [-- --port 8080 --host 127.0.0.1]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDemo } from './demo.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-browser.mjs', import.meta.url))], { stdio: 'inherit' });

const demo = await startDemo({ host: values.host, port });
console.log(`\nfastway browser demo: open ${demo.url} in two browser tabs and chat.`);
console.log(`  gateway WebSocket listener: ${demo.gatewayUrl} (chat room: server 1)`);
console.log('  Ctrl-C to stop.');

let stopping = false;
const stop = (): void => {
  if (stopping) process.exit(130);
  stopping = true;
  demo.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
