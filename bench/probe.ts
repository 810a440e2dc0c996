import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { BenchChild } from './child.js';
import type { ProcessSample } from './ipc.js';

/** A process's resource usage and, where known, how many connections it holds. */
export interface ProbeSample extends ProcessSample {
  /** Client connections it holds (null when it cannot say). */
  connections: number | null;
  /** Data frames it has forwarded so far, by its own count (our gateway only; else null). */
  framesForwarded: number | null;
}

/** Reads a process's resource usage. */
export interface Probe {
  /** Samples now; with `gc`, after a full collection where the process supports it. */
  sample(gc?: boolean): Promise<ProbeSample>;
  /** Resets the process's peak RSS to its RSS now (where Linux lets us); resolves false where it cannot. */
  resetPeak(): Promise<boolean>;
}

/** A bench child that answers `probe` requests (gateway-process.ts, echo-server.ts). */
export function childProbe(child: BenchChild): Probe {
  return {
    async sample(gc = false) {
      const reply = await child.request<{ id: number; sample: ProcessSample; clients?: number; connections?: number; framesForwarded?: number }>('probe', { gc });
      return { ...reply.sample, connections: reply.clients ?? reply.connections ?? null, framesForwarded: reply.framesForwarded ?? null };
    },
    async resetPeak() {
      const reply = await child.request<{ id: number; reset: boolean }>('reset-peak');
      return reply.reset;
    },
  };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Any local process by PID, from Linux's /proc (for an external gateway). */
export function procProbe(pid: number): Probe {
  return {
    sample() {
      // The process and every descendant: a `fastway --workers` primary and its workers.
      let ticks = 0;
      let rss = 0;
      let peakRss = 0;
      for (const p of processTree(pid)) {
        try {
          const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
          // Fields after the command name (which may hold spaces) start at "state" (field 3).
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          ticks += Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
          const status = readFileSync(`/proc/${p}/status`, 'utf8');
          const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
          rss += kib('VmRSS');
          peakRss += kib('VmHWM');
        } catch {
          // exited between the listing and the read
        }
      }
      return Promise.resolve({
        cpuUs: (ticks * 1e6) / ticksPerSecond(),
        rss,
        peakRss,
        heapUsed: 0,
        connections: null,
        framesForwarded: null,
      });
    },
    resetPeak() {
      try {
        for (const p of processTree(pid)) writeFileSync(`/proc/${p}/clear_refs`, '5');
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    },
  };
}

/** `pid` and its descendants, from /proc/<pid>/task/<tid>/children. */
function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    try {
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        if (children !== '') queue.push(...children.split(' ').map(Number));
      }
    } catch {
      // gone, or no children file: leaves it out
    }
  }
  return out;
}
