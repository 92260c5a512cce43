// Spike: BASE_RATE (default 10/s) of the read-heavy mix jumps to SPIKE_RATE (default 300/s) for
// SPIKE (20s), then drops back: errors must stay within the SLO, latency may degrade briefly.
import {
  SUMMARY_TREND_STATS, envNumber, envString, mixedIteration, seed, sloThresholds, summary,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

const base = envNumber('BASE_RATE', 10);
const spike = envNumber('SPIKE_RATE', 300);

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate', startRate: base, timeUnit: '1s',
      preAllocatedVUs: Math.max(10, Math.ceil(spike / 5)), maxVUs: Math.max(50, spike),
      stages: [
        { target: base, duration: '10s' },
        { target: spike, duration: '2s' },
        { target: spike, duration: envString('SPIKE', '20s') },
        { target: base, duration: '2s' },
        { target: base, duration: '20s' },
      ],
    },
  },
  thresholds: sloThresholds({ readP95: 1000, readP99: 3000, writeP95: 1500, writeP99: 4000 }),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export async function setup() {
  await refreshToken();
  return { items: seed(envNumber('SEED_ITEMS', 50)) };
}

export default async function (data) {
  await refreshToken();
  mixedIteration(data.items, 0.1);
}

export const handleSummary = summary('spike');
