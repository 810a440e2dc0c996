/**
 * `fastway cluster status --cluster redis://…`: a table of the cluster's gateways, their
 * state, load and age, for operators. Reads the registry only; changes nothing.
 */
import { InvalidOptionError } from '../errors.js';
import { DEFAULT_CLUSTER_NAME, checkClusterName } from '../cluster/cluster-keys.js';
import { GatewayDirectory } from '../cluster/gateway-directory.js';
import type { GatewayRecord } from '../cluster/gateway-record.js';
import { checkRedisUrl } from '../cluster/redis-connection.js';

/** The flags of `fastway cluster status`. */
export interface ClusterStatusArgs {
  url: string;
  name: string;
}

const USAGE = 'usage: fastway cluster status --cluster redis://host:port[/db] [--cluster-name NAME]';

/** Reads `--cluster` and `--cluster-name` (or FASTWAY_CLUSTER, FASTWAY_CLUSTER_NAME). @throws InvalidOptionError */
export function parseClusterStatusArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ClusterStatusArgs {
  let url = env.FASTWAY_CLUSTER;
  let name = env.FASTWAY_CLUSTER_NAME;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new InvalidOptionError(flag, `needs a value; ${USAGE}`);
      return v;
    };
    if (flag === '--cluster') url = value();
    else if (flag === '--cluster-name') name = value();
    else throw new InvalidOptionError(flag, `is not a flag of fastway cluster status; ${USAGE}`);
  }
  if (url === undefined) throw new InvalidOptionError('--cluster', `is required; ${USAGE}`);
  return { url: checkRedisUrl('--cluster', url), name: checkClusterName('--cluster-name', name ?? DEFAULT_CLUSTER_NAME) };
}

/** `95s` → `1m35s`; `2h3m`; `4d2h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** The table: a header and one line per gateway, columns padded to their widest cell. */
export function statusTable(records: readonly GatewayRecord[], now: number): string {
  const rows = [
    ['ID', 'STATE', 'CLIENTS', 'VCONNS', 'AGE', 'CLIENT ADDRESS', 'SERVER ADDRESS', 'VERSION'],
    ...records.map((r) => [
      r.id,
      r.state,
      String(r.clients),
      String(r.liveConnections),
      formatAge(now - r.startedAt),
      r.clientAddr ?? '-',
      r.serverAddr,
      r.version,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** Runs the command; resolves with the exit code (0, or 1 when the registry cannot be read). */
export async function clusterStatus(args: ClusterStatusArgs, write: (text: string) => void): Promise<number> {
  const directory = await GatewayDirectory.open({ redis: args.url, clusterName: args.name });
  try {
    const records = await directory.list();
    write(statusTable(records, Date.now()));
    const ready = records.filter((r) => r.state === 'ready').length;
    write(`${records.length} gateway${records.length === 1 ? '' : 's'} (${ready} ready) in cluster ${args.name}\n`);
    return 0;
  } finally {
    await directory.close();
  }
}
