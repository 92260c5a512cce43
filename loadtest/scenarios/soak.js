// Soak: a moderate constant rate of the read-heavy mix for a long time, to surface leaks (RSS,
// pool connections) and slow drift. RATE (default 30/s), DURATION (default 30m).
import {
  SUMMARY_TREND_STATS, envNumber, envString, mixedIteration, seed, sloThresholds, summary,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

const rate = envNumber('RATE', 30);

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: envString('DURATION', '30m'),
      preAllocatedVUs: Math.max(5, Math.ceil(rate / 5)), maxVUs: Math.max(20, rate),
    },
  },
  thresholds: sloThresholds(),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export async function setup() {
  await refreshToken();
  return { items: seed(envNumber('SEED_ITEMS', 100)) };
}

export default async function (data) {
  await refreshToken();
  mixedIteration(data.items, 0.1);
}

export const handleSummary = summary('soak');
