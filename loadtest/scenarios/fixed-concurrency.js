// One operation at a fixed concurrency, for `make bench`: OP = get | list | create | update |
// static (TARGET_URL, the proxy's static 200: the HTTP baseline). VUS (default 8), DURATION (20s).
import http from 'k6/http';
import { check } from 'k6';
import {
  SUMMARY_TREND_STATS, createItem, envNumber, envString, getItem, listItems, pick, seed, summary, updateItem,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

const op = envString('OP', 'get');

export const options = {
  scenarios: { bench: { executor: 'constant-vus', vus: envNumber('VUS', 8), duration: envString('DURATION', '20s') } },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    // Always true: makes k6 report the operation's own latency (setup's requests excluded).
    ...(op === 'static' ? {} : { [`http_req_duration{op:${op}}`]: ['max>=0'] }),
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export async function setup() {
  await refreshToken();
  return { items: op === 'static' ? [] : seed(envNumber('SEED_ITEMS', 100)) };
}

const myVersions = {};

const operations = {
  get: (items) => getItem(pick(items).id),
  list: () => listItems(),
  create: () => createItem(),
  // Each VU updates its own item, tracking its version, so If-Match never conflicts.
  update: (items) => {
    const mine = items[(__VU - 1) % items.length];
    const updated = updateItem({ id: mine.id, version: myVersions[mine.id] || mine.version });
    if (updated) myVersions[mine.id] = updated.item.version;
  },
  static: () => check(http.get(envString('TARGET_URL', 'http://127.0.0.1:8889/')), { 'static: 200': (r) => r.status === 200 }),
};

export default async function (data) {
  await refreshToken();
  operations[op](data.items);
}

export const handleSummary = summary(`bench-${op}`);
