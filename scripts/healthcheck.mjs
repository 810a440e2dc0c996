#!/usr/bin/env node
/**
 * The container's health check: `GET /healthz` on the gateway's metrics listener
 * (`FASTWAY_METRICS_ADDR`, default 127.0.0.1:9464; a wildcard host is asked on loopback).
 * Exits 0 when it answers 200 within 2 s, 1 otherwise, with one line saying why.
 *
 *   node scripts/healthcheck.mjs
 */
const addr = process.env.FASTWAY_METRICS_ADDR ?? '127.0.0.1:9464';
if (addr === 'off') {
  console.error('fastway health check: the metrics listener is off (FASTWAY_METRICS_ADDR=off), so there is no /healthz to ask');
  process.exit(1);
}
const host = addr.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
const url = `http://${host}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (res.status !== 200) {
    console.error(`fastway health check: ${url} answered ${res.status}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`fastway health check: ${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
