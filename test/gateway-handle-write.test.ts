/**
 * Writes straight to a TCP handle (src/gateway/handle-write.ts), over real loopback sockets:
 * a write the kernel takes at once is over when the call returns; one it cannot take goes on
 * and calls back; bytes written later, by either path, come after it; a socket that is not
 * plain TCP, or has bytes queued in its stream, is left to `socket.write`.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { HandleWrite, handleWriteSupported, writeToHandle } from '../src/gateway/handle-write.js';
import type { GatewaySocket } from '../src/gateway/gateway-socket.js';

/** A connected pair: `writer` (client side) and the server side it talks to, paused. */
async function pair(): Promise<{ writer: net.Socket; reader: net.Socket; close: () => Promise<void> }> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const writer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => writer.once('connect', resolve));
  const reader = await accepted;
  return {
    writer,
    reader,
    close: async () => {
      writer.destroy();
      reader.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readAll(socket: net.Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= bytes) resolve(Buffer.concat(chunks));
    });
    socket.once('error', reject);
    socket.resume();
  });
}

test('this Node supports writing straight to TCP handles', { skip: !handleWriteSupported && 'no stream_wrap binding here' }, () => {
  assert.equal(handleWriteSupported, true);
});

test('a small write is over when the call returns; a large one goes on, calls back once, and later writes come after it', { skip: !handleWriteSupported }, async () => {
  const { writer, reader, close } = await pair();
  try {
    const calls: number[] = [];
    const small = Buffer.from('hello ');
    assert.equal(writeToHandle(writer, small, (s) => calls.push(s)), HandleWrite.Done);
    // More than the socket buffers hold while nobody reads: the kernel takes only part.
    const big = Buffer.alloc(32 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    assert.equal(writeToHandle(writer, big, (s) => calls.push(s)), HandleWrite.Pending);
    // Nothing shows in the stream: the caller must know a write is in progress.
    assert.equal(writer.writableLength, 0);
    // Later bytes, through the stream and straight (which still works: libuv queues it behind), arrive after it.
    writer.write(Buffer.from(' world'));
    const tail = Buffer.from('!');
    const third = writeToHandle(writer, tail, (s) => calls.push(s));
    assert.ok(third === HandleWrite.Pending || third === HandleWrite.Unavailable, String(third));
    if (third === HandleWrite.Unavailable) writer.write(tail);
    const total = small.length + big.length + 6 + 1;
    const got = await readAll(reader, total);
    assert.equal(got.length, total);
    assert.equal(got.subarray(0, small.length).toString(), 'hello ');
    assert.ok(got.subarray(small.length, small.length + big.length).equals(big), 'the large write arrived whole and in place');
    assert.equal(got.subarray(small.length + big.length).toString(), ' world!');
    await new Promise<void>((resolve) => setImmediate(resolve));
    // The pending write called back once, with success (and the third once too when it was pending).
    assert.deepEqual(calls, third === HandleWrite.Pending ? [0, 0] : [0]);
  } finally {
    await close();
  }
});

test('a socket with bytes queued in its stream, a corked one, a destroyed one, or one that is not TCP is left to socket.write', { skip: !handleWriteSupported }, async () => {
  const { writer, reader, close } = await pair();
  try {
    const never = (): void => assert.fail('no callback expected');
    writer.write(Buffer.alloc(32 * 1024 * 1024)); // queued in the stream: nobody reads
    assert.ok(writer.writableLength > 0);
    assert.equal(writeToHandle(writer, Buffer.from('x'), never), HandleWrite.Unavailable);
    const other = await pair();
    other.writer.cork();
    assert.equal(writeToHandle(other.writer, Buffer.from('x'), never), HandleWrite.Unavailable);
    other.writer.uncork();
    other.writer.destroy();
    assert.equal(writeToHandle(other.writer, Buffer.from('x'), never), HandleWrite.Unavailable);
    await other.close();
    const notTcp = new PassThrough() as unknown as GatewaySocket;
    assert.equal(writeToHandle(notTcp, Buffer.from('x'), never), HandleWrite.Unavailable);
    reader.resume();
  } finally {
    await close();
  }
});

test('a pending write whose socket is destroyed calls back with a failure, once', { skip: !handleWriteSupported }, async () => {
  const { writer, close } = await pair();
  try {
    const statuses: number[] = [];
    assert.equal(writeToHandle(writer, Buffer.alloc(32 * 1024 * 1024), (s) => statuses.push(s)), HandleWrite.Pending);
    writer.destroy();
    await new Promise<void>((resolve) => writer.once('close', () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(statuses.length, 1);
    assert.ok(statuses[0]! < 0, `status ${statuses[0]}`);
  } finally {
    await close();
  }
});
