import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OutputArena } from '../src/gateway/output-arena.js';
import { OutputBatch } from '../src/gateway/output-batch.js';
import type { GatewaySocket } from '../src/gateway/gateway-socket.js';

/** A socket that records what is written and can pretend to be backed up. */
function recordingSocket(backedUp = () => false) {
  const written: Buffer[] = [];
  const socket = {
    get writableLength() {
      return backedUp() ? 1 : 0;
    },
    destroyed: false,
    write(data: Uint8Array, cb?: () => void) {
      written.push(Buffer.from(data)); // a snapshot: later changes to the memory must not matter
      cb?.();
      return true;
    },
    cork() {},
    uncork() {},
  } as unknown as GatewaySocket;
  return { socket, written, bytes: () => Buffer.concat(written) };
}

test('arena: blocks are reused turn after turn unless pinned or kept', () => {
  const arena = new OutputArena(16, 4);
  const src = Uint8Array.from({ length: 40 }, (_, i) => i);
  const at = arena.append(src, 0, 10);
  const first = arena.buffer;
  assert.deepEqual([...first.subarray(at, at + 10)], [...src.subarray(0, 10)]);
  arena.append(src, 10, 20); // does not fit: a second block
  const second = arena.buffer;
  assert.notEqual(second, first);
  arena.endTurn(false);
  // Both blocks are free again: the next turn writes into one of them.
  arena.append(src, 0, 10);
  assert.ok(arena.buffer === first || arena.buffer === second);

  arena.pin(arena.buffer);
  const pinned = arena.buffer;
  arena.endTurn(false);
  const handedOut = new Set<Uint8Array>();
  for (let i = 0; i < 6; i++) {
    arena.append(src, 0, 16); // a whole block each
    handedOut.add(arena.buffer);
  }
  assert.equal(handedOut.size, 6);
  assert.ok(!handedOut.has(pinned), 'a pinned block is left to its write');

  const kept = arena.buffer;
  arena.endTurn(true);
  arena.append(src, 0, 4);
  assert.notEqual(arena.buffer, kept, 'keepAll: nothing of the turn is handed out again');
});

test('arena: a request larger than a block gets a buffer of its own, never reused', () => {
  const arena = new OutputArena(8, 4);
  const src = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
  const at = arena.append(src, 0, 20);
  const big = arena.buffer;
  assert.equal(big.length, 20);
  assert.deepEqual([...big.subarray(at, at + 20)], [...src]);
  arena.endTurn(false);
  for (let i = 0; i < 10; i++) {
    arena.append(src, 0, 8);
    assert.notEqual(arena.buffer, big);
  }
});

test('batch: frames detached from a reused read buffer survive it being overwritten', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 16, max: 128 }),
      fc.boolean(),
      (reads, blockSize, backedUp) => {
        // Each "read" fills the one transient buffer; some of its bytes go to the batch, as
        // frames (true: the next range follows on directly) of the given sizes.
        const transient = new Uint8Array(512);
        const owned = Uint8Array.from({ length: 64 }, (_, i) => 200 - i);
        const arena = new OutputArena(blockSize, 4);
        const batch = new OutputBatch();
        const expected: number[] = [];
        let stamp = 1;
        for (const frames of reads) {
          let pos = 0;
          for (const [adjacent, size] of frames) {
            if (!adjacent) pos += 3;
            if (pos + size > transient.length) break;
            for (let i = 0; i < size; i++) transient[pos + i] = stamp++ & 0xff;
            batch.add(transient, pos, pos + size);
            expected.push(...transient.subarray(pos, pos + size));
            pos += size;
          }
          batch.add(owned, 5, 9); // a range in memory that is not reused
          expected.push(...owned.subarray(5, 9));
          batch.detach(transient, arena);
          transient.fill(0xee);
        }
        const { socket, bytes } = recordingSocket(() => backedUp);
        batch.writeTo(socket, arena, () => {});
        arena.endTurn(false);
        assert.deepEqual([...bytes()], expected);
      },
    ),
    { numRuns: 300 },
  );
});

test('batch: a write that leaves bytes behind pins its arena block', () => {
  const arena = new OutputArena(64, 4);
  const transient = Uint8Array.from({ length: 32 }, (_, i) => i);
  const batch = new OutputBatch();
  batch.add(transient, 0, 10);
  batch.add(transient, 20, 30);
  batch.detach(transient, arena);
  const block = arena.buffer;
  let written = false;
  // Nothing queued before the write, something after: a partial write.
  const { socket } = recordingSocket(() => written);
  const write = socket.write.bind(socket);
  (socket as { write: typeof write }).write = (data, cb) => {
    written = true;
    return write(data, cb);
  };
  batch.writeTo(socket, arena, () => {});
  arena.endTurn(false);
  for (let i = 0; i < 8; i++) {
    arena.append(transient, 0, 32);
    assert.notEqual(arena.buffer, block, 'the pinned block is not handed out again');
  }
});

test('arena: a trim keeps what the busiest turn since the last one used, and nothing after a quiet stretch', () => {
  const arena = new OutputArena(16, 64);
  const src = new Uint8Array(16);
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 40; i++) arena.append(src, 0, 16); // a burst: 40 blocks
    arena.endTurn(false);
  }
  assert.equal(arena.spareBlocks, 39, 'a busy arena keeps its blocks between turns');
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 10; i++) arena.append(src, 0, 16); // steady load: 10 blocks a turn
    arena.endTurn(false);
  }
  arena.trim(); // the busiest turn since the start used 40: all 39 spare blocks stay
  assert.equal(arena.spareBlocks, 39);
  arena.trim();
  assert.equal(arena.spareBlocks, 0, 'no turn since the last trim: every spare block goes');
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 10; i++) arena.append(src, 0, 16);
    arena.endTurn(false);
  }
  arena.trim();
  assert.equal(arena.spareBlocks, 9, 'steady load keeps what one turn needs (9 spare and the one in use)');
  arena.dispose();
});

test('arena: spare blocks are given back on their own once the arena is quiet', async () => {
  const arena = new OutputArena(16, 64);
  const src = new Uint8Array(16);
  for (let i = 0; i < 40; i++) arena.append(src, 0, 16);
  arena.endTurn(false);
  assert.ok(arena.spareBlocks > 0);
  const deadline = Date.now() + 5000;
  while (arena.spareBlocks > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(arena.spareBlocks, 0, 'the trim timer let the quiet arena\'s blocks go');
  arena.dispose();
});
