// Write burst: creates (each read back with its consistency token, so replica lag shows as
// consistency-wait time or 503 replica-lag) and updates, ramping to PEAK_RATE writes/s (default
// 100) for HOLD (default 30s). Looser write SLOs: this is the primary's worst case.
import { sleep } from 'k6';
import {
  SUMMARY_TREND_STATS, createItem, envNumber, envString, getItem, pick, seed, sloThresholds, summary, updateItem,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

const peak = envNumber('PEAK_RATE', 100);

export const options = {
  scenarios: {
    write_burst: {
      executor: 'ramping-arrival-rate', startRate: Math.ceil(peak / 10), timeUnit: '1s',
      preAllocatedVUs: Math.max(5, Math.ceil(peak / 5)), maxVUs: Math.max(20, peak * 2),
      stages: [
        { target: peak, duration: envString('RAMP', '10s') },
        { target: peak, duration: envString('HOLD', '30s') },
        { target: 0, duration: '5s' },
      ],
    },
  },
  thresholds: sloThresholds({ writeP95: 800, writeP99: 2000 }),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export async function setup() {
  await refreshToken();
  return { items: seed(envNumber('SEED_ITEMS', 20)) };
}

export default async function (data) {
  await refreshToken();
  if (Math.random() < 0.7) {
    const created = createItem();
    if (created) getItem(created.item.id, created.token);
  } else {
    updateItem(pick(data.items));
  }
}

export function teardown() {
  sleep(1); // lets the last replica-applied writes land before the summary's numbers are read
}

export const handleSummary = summary('write-burst');
