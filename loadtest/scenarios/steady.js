// Steady: reads and writes at constant arrival rates while something happens to the cluster (a
// rollout or a deleted pod: docs/quickstart-cluster.md, docs/mysql-failover.md). Reads GET seeded
// items; writes create items whose SKU starts with SKU_PREFIX. Each acknowledged write (201) is logged as
// `ACK <sku> <id>` and each failed request as `FAIL <epoch ms> <kind> <status> <problem type> <op>`
// (status 0: no answer; type "-": not an RFC 9457 body, e.g. the proxy's own), so a run started with
// `--console-output=FILE` can be checked afterwards: every acknowledged SKU must be in the table.
//
//   READ_RATE (20/s), WRITE_RATE (5/s), DURATION (1m), SKU_PREFIX (steady-<start time>),
//   MAX_FAILED (0): failed requests tolerated before k6 exits non-zero.
import http from 'k6/http';
import {
  READ, SUMMARY_TREND_STATS, WRITE, envNumber, envString, expect, pick, seed, summary,
} from '../lib/catalog.js';
import { authHeaders, refreshToken } from '../lib/auth.js';

const duration = envString('DURATION', '1m');
const skuPrefix = envString('SKU_PREFIX', `steady-${Date.now().toString(36)}`);

function constantRate(rate, exec) {
  return {
    executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration, exec,
    preAllocatedVUs: Math.max(5, rate), maxVUs: Math.max(20, rate * 4),
  };
}

export const options = {
  scenarios: {
    reads: constantRate(envNumber('READ_RATE', 20), 'read'),
    writes: constantRate(envNumber('WRITE_RATE', 5), 'write'),
  },
  thresholds: { http_req_failed: [`rate<=${envNumber('MAX_FAILED', 0)}`] },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

function record(res, kind, expected) {
  return expect(res, kind, kind === 'read' ? 'get' : 'create', { [`${kind}: ${expected}`]: (r) => r.status === expected });
}

export async function setup() {
  await refreshToken();
  return { items: seed(envNumber('SEED_ITEMS', 10)) };
}

export function read(data) {
  const res = http.get(`${READ}/${pick(data.items).id}`, {
    tags: { kind: 'read', op: 'get', name: `${READ}/{id}` },
  });
  record(res, 'read', 200);
}

export async function write() {
  await refreshToken();
  const sku = `${skuPrefix}-${__VU}-${__ITER}`;
  const res = http.post(WRITE, JSON.stringify({
    sku, name: 'Steady load', price_cents: 100, currency: 'EUR', stock: 1,
  }), { headers: { 'Content-Type': 'application/json', ...authHeaders() }, tags: { kind: 'write', op: 'create' } });
  if (record(res, 'write', 201)) console.log(`ACK ${sku} ${res.json('id')}`);
}

export const handleSummary = summary('steady');
