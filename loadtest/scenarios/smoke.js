// Smoke: one VU walks the whole API once per iteration (create, read-your-writes, list by SKU,
// conditional GET, update, delete) under strict SLOs. ITERATIONS (default 20).
import { check } from 'k6';
import http from 'k6/http';
import {
  READ, SUMMARY_TREND_STATS, createItem, deleteItem, envNumber, getItem, listItems, sloThresholds, summary, updateItem,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

export const options = {
  scenarios: { smoke: { executor: 'per-vu-iterations', vus: 1, iterations: envNumber('ITERATIONS', 20), maxDuration: '2m' } },
  thresholds: { ...sloThresholds({ errorRate: 0.001 }), checks: ['rate==1'] },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export default async function () {
  await refreshToken();
  const created = createItem();
  if (!created) return;
  const read = getItem(created.item.id, created.token);
  check(read, { 'read-your-writes: same item': (r) => r.json('sku') === created.item.sku });
  listItems(`sku=${encodeURIComponent(created.item.sku.toUpperCase())}`);
  const etag = read.headers.Etag || read.headers.ETag;
  const cached = http.get(`${READ}/${created.item.id}`, {
    headers: { 'If-None-Match': etag }, tags: { kind: 'read', op: 'get', name: `${READ}/{id}` },
  });
  check(cached, { 'conditional get: 304': (r) => r.status === 304 });
  const updated = updateItem(created.item, { name: 'Smoke test, renamed' });
  check(updated, { 'update: version 2': (u) => u !== null && u.item.version === 2 });
  if (updated) {
    const after = getItem(created.item.id, updated.token);
    check(after, { 'read-your-writes: the update': (r) => r.json('name') === 'Smoke test, renamed' });
  }
  deleteItem(created.item);
}

export const handleSummary = summary('smoke');
