// HPA: a ramping arrival rate of the read-heavy mix, built to push both APIs past their HPA CPU
// target (docs/load-test-hpa.md). Stages: ramp to PEAK_RATE (default 200/s) over RAMP (1m), hold
// for HOLD (2m), ramp down over 30s. WRITE_SHARE (default 0.2) of the iterations write, so the
// write-api crosses its target too. The local stack's dry run: make hpa-dry-run.
import {
  SUMMARY_TREND_STATS, envNumber, envString, mixedIteration, seed, sloThresholds, summary,
} from '../lib/catalog.js';
import { refreshToken } from '../lib/auth.js';

const peak = envNumber('PEAK_RATE', 200);

export const options = {
  scenarios: {
    hpa: {
      executor: 'ramping-arrival-rate', startRate: Math.ceil(peak / 20), timeUnit: '1s',
      preAllocatedVUs: Math.max(10, Math.ceil(peak / 5)), maxVUs: Math.max(50, peak),
      stages: [
        { target: peak, duration: envString('RAMP', '1m') },
        { target: peak, duration: envString('HOLD', '2m') },
        { target: 0, duration: envString('RAMP_DOWN', '30s') },
      ],
    },
  },
  // Until the HPA has added pods, latency may rise: the SLO here is about errors, p99 is loose.
  thresholds: sloThresholds({ readP95: 500, readP99: 1500, writeP95: 800, writeP99: 2000 }),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export async function setup() {
  await refreshToken();
  return { items: seed(envNumber('SEED_ITEMS', 50)) };
}

export default async function (data) {
  await refreshToken();
  mixedIteration(data.items, envNumber('WRITE_SHARE', 0.2));
}

export const handleSummary = summary('hpa');
