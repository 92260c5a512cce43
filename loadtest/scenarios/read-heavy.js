// Read-heavy mix: 90 % reads (get by id, list), 10 % writes (creates read back with their
// consistency token, updates) at a constant arrival rate. RATE (iterations/s, default 50),
// DURATION (default 1m), SEED_ITEMS (default 50), WRITE_SHARE (default 0.1).
import {
  SUMMARY_TREND_STATS, envNumber, envString, mixedIteration, seed, sloThresholds, summary,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

const rate = envNumber('RATE', 50);

export const options = {
  scenarios: {
    read_heavy: {
      executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: envString('DURATION', '1m'),
      preAllocatedVUs: Math.max(5, Math.ceil(rate / 5)), maxVUs: Math.max(20, rate),
    },
  },
  thresholds: { ...sloThresholds(), dropped_iterations: [`count<${Math.max(10, rate)}`] },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export async function setup() {
  await refreshToken();
  return { items: seed(envNumber('SEED_ITEMS', 50)) };
}

export default async function (data) {
  await refreshToken();
  mixedIteration(data.items, envNumber('WRITE_SHARE', 0.1));
}

export const handleSummary = summary('read-heavy');
