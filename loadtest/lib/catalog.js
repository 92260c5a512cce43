// Shared k6 library for the catalog's load tests: the target from the environment, requests with
// checks, test data, read-your-writes through the consistency token, SLO thresholds and a JSON
// summary. Runs on k6 v1.x and v2.x (only core modules: k6, k6/http).
//
//   BASE_URL     the Ingress (default: the local stack of `make up`, http://127.0.0.1:8880)
//   SUMMARY_DIR  where handleSummary writes <scenario>-summary.json (default: loadtest/results)
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import { authHeaders } from './auth.js';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8880').replace(/\/+$/, '');
export const WRITE = `${BASE_URL}/api/write/v1/items`;
export const READ = `${BASE_URL}/api/read/v1/items`;

const JSON_HEADERS = { 'Content-Type': 'application/json' };
// Updates of shared items may lose the If-Match race to another VU: 412 is not a failed request.
const CONFLICT_EXPECTED = http.expectedStatuses(200, 412);
// A read with a consistency token may meet a lagging replica: its 503 replica-lag asks for a retry.
const LAG_EXPECTED = http.expectedStatuses(200, 503);

// envNumber('RATE', 50): a scenario knob from -e NAME=value, with its default.
export function envNumber(name, fallback) {
  const value = __ENV[name];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number)) fail(`${name} must be a number, got ${value}`);
  return number;
}

export function envString(name, fallback) {
  return __ENV[name] || fallback;
}

// SLOs, as k6 thresholds: k6 exits non-zero when one fails. Requests are tagged kind=read|write.
export function sloThresholds({ errorRate = 0.01, readP95 = 250, readP99 = 600, writeP95 = 400, writeP99 = 1000 } = {}) {
  return {
    http_req_failed: [`rate<${errorRate}`],
    checks: [`rate>${1 - errorRate}`],
    'http_req_duration{kind:read}': [`p(95)<${readP95}`, `p(99)<${readP99}`],
    'http_req_duration{kind:write}': [`p(95)<${writeP95}`, `p(99)<${writeP99}`],
  };
}

// Trend statistics every summary reports (p99 is not in k6's default list).
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

// Test data: SKUs unique across VUs, iterations and runs.
let counter = 0;
export function newItem() {
  counter += 1;
  const unique = `${Date.now().toString(36)}-${__VU}-${counter}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  return {
    sku: `k6-${unique}`,
    name: `Load test item ${unique}`,
    description: Math.random() < 0.5 ? null : 'Created by a k6 scenario in loadtest/.',
    price_cents: Math.floor(Math.random() * 100000),
    currency: ['EUR', 'USD', 'GBP'][Math.floor(Math.random() * 3)],
    stock: Math.floor(Math.random() * 1000),
  };
}

// The `type` member of a problem body, or "-" when the body is not one (e.g. the proxy's own).
export function problemType(res) {
  try {
    return String(res.json('type') || '-');
  } catch (_) {
    return '-';
  }
}

// expect(res, kind, op, checks): k6 checks on a response; when one fails, the request is logged as
// `FAIL <epoch ms> <kind> <status> <problem type> <op>` (status 0: no answer), so a run with
// `--console-output=FILE` shows what failed and when.
export function expect(res, kind, op, checks) {
  const ok = check(res, checks);
  if (!ok) console.log(`FAIL ${Date.now()} ${kind} ${res.status} ${problemType(res)} ${op}`);
  return ok;
}

function token(res) {
  return res.headers['X-Consistency-Token'] || res.headers['x-consistency-token'] || '';
}

// createItem(): {item, token} of a new item, or null when the request failed its checks.
export function createItem(fields = newItem()) {
  const res = http.post(WRITE, JSON.stringify(fields), { headers: { ...JSON_HEADERS, ...authHeaders() }, tags: { kind: 'write', op: 'create' } });
  const ok = expect(res, 'write', 'create', {
    'create: 201': (r) => r.status === 201,
    'create: consistency token': (r) => token(r) !== '',
  });
  return ok ? { item: res.json(), token: token(res) } : null;
}

// updateItem(item, changes): JSON merge patch with If-Match on the item's version.
export function updateItem(item, changes = { stock: Math.floor(Math.random() * 1000) }) {
  const res = http.patch(`${WRITE}/${item.id}`, JSON.stringify(changes), {
    headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': `"${item.version}"`, ...authHeaders() },
    tags: { kind: 'write', op: 'update' },
    responseCallback: CONFLICT_EXPECTED,
  });
  // Another VU may have updated the same seeded item first: 412 is the contract, not an error.
  const ok = expect(res, 'write', 'update', { 'update: 200 or 412': (r) => r.status === 200 || r.status === 412 });
  return ok && res.status === 200 ? { item: res.json(), token: token(res) } : null;
}

export function deleteItem(item) {
  const res = http.del(`${WRITE}/${item.id}`, null, { headers: authHeaders(), tags: { kind: 'write', op: 'delete' } });
  expect(res, 'write', 'delete', { 'delete: 204': (r) => r.status === 204 });
  return res;
}

// getItem(id, consistencyToken): read-your-writes when a token is given. A replica that has not
// applied the token in time answers 503 /problems/replica-lag with Retry-After (docs/api.md);
// like a client keeping the contract, the read is retried once after that wait, and the retry is
// logged as `RETRY <epoch ms> read 503 /problems/replica-lag get-with-token`.
export function getItem(id, consistencyToken) {
  const url = `${READ}/${id}`;
  const tags = { kind: 'read', op: 'get', name: `${READ}/{id}` };
  if (!consistencyToken) {
    const res = http.get(url, { tags });
    expect(res, 'read', 'get', { 'get: 200': (r) => r.status === 200 });
    return res;
  }
  const params = { headers: { 'X-Consistency-Token': consistencyToken }, tags };
  let res = http.get(url, { ...params, responseCallback: LAG_EXPECTED });
  if (res.status === 503 && problemType(res) === '/problems/replica-lag') {
    console.log(`RETRY ${Date.now()} read 503 ${problemType(res)} get-with-token`);
    sleep(Number(res.headers['Retry-After']) || 1);
    res = http.get(url, params);
  }
  // Any other answer than 200 in the end is a failed check and a FAIL line.
  expect(res, 'read', 'get-with-token', { 'get: 200': (r) => r.status === 200 });
  return res;
}

export function listItems(query = 'limit=20') {
  const res = http.get(`${READ}?${query}`, { tags: { kind: 'read', op: 'list', name: `${READ}?{query}` } });
  expect(res, 'read', 'list', { 'list: 200 with items': (r) => r.status === 200 && Array.isArray(r.json('items')) });
  return res;
}

// seed(n): items for reads (setup()); returns them, and fails the run when none could be created.
export function seed(n) {
  const items = [];
  for (let i = 0; i < n; i += 1) {
    const created = createItem();
    if (created) items.push(created.item);
  }
  if (items.length === 0) fail(`could not create any item at ${WRITE}`);
  return items;
}

export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

// mixedIteration(items, writeShare): a read-heavy mix. Reads: 2/3 get by id, 1/3 list. Writes:
// half creates followed by a read-your-writes GET with the consistency token, half updates.
export function mixedIteration(items, writeShare = 0.1) {
  if (Math.random() >= writeShare) {
    if (Math.random() < 2 / 3) getItem(pick(items).id);
    else listItems();
    return;
  }
  if (Math.random() < 0.5) {
    const created = createItem();
    if (created) getItem(created.item.id, created.token);
  } else {
    updateItem(pick(items));
  }
}

// summary(name): a handleSummary writing the whole k6 summary as JSON, and a short text report.
export function summary(name) {
  return (data) => {
    const dir = (__ENV.SUMMARY_DIR || 'loadtest/results').replace(/\/+$/, '');
    const lines = [`\n${name}: ${BASE_URL}`];
    for (const [metric, values] of Object.entries(data.metrics)) {
      if (!metric.startsWith('http_req_duration') && !['http_reqs', 'http_req_failed', 'checks', 'iterations'].includes(metric)) continue;
      const v = values.values;
      const shown = v['p(95)'] !== undefined
        ? `p50=${fmt(v.med)}ms p95=${fmt(v['p(95)'])}ms p99=${fmt(v['p(99)'])}ms max=${fmt(v.max)}ms`
        : Object.entries(v).map(([k, x]) => `${k}=${fmt(x)}`).join(' ');
      const verdict = values.thresholds
        ? (Object.values(values.thresholds).every((t) => t.ok) ? ' [SLO ok]' : ' [SLO FAILED]')
        : '';
      lines.push(`  ${metric.padEnd(40)} ${shown}${verdict}`);
    }
    return {
      [`${dir}/${name}-summary.json`]: JSON.stringify(data, null, 2),
      stdout: `${lines.join('\n')}\n`,
    };
  };
}

function fmt(x) {
  return typeof x === 'number' ? (Math.round(x * 100) / 100).toString() : String(x);
}
