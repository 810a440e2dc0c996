/**
 * The `--pid-file`: the process ID in decimal and a newline, written once the gateway
 * listens and removed on exit, as daemons traditionally do.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/** Writes `pid` to `path`, replacing what is there. Throws the file system's error. */
export function writePidFile(path: string, pid: number = process.pid): void {
  writeFileSync(path, `${pid}\n`);
}

/**
 * Removes the file at `path` if it still holds `pid` (another process may have taken it
 * over since). Never throws: it runs on the way out.
 */
export function removePidFile(path: string, pid: number = process.pid): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(pid)) unlinkSync(path);
  } catch {
    // Already gone or unreadable: there is nothing of ours to remove.
  }
}
