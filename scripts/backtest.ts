// npm run backtest: is the predicted completion calibrated? Generates two years of completed cases (fixed seed, see
// backtest-sim.ts), predicts each case of the second year from what was known while it was open, and reports how
// often the p50 and p80 dates held, per fallback level. Exits 1 unless the p80 date held for 75–85 % of the cases.

import { backtest, generateCases } from './backtest-sim';

const SEED = 20261201;
const MIN_CASES = 500;
const P80_RANGE = [0.75, 0.85] as const;

const pct = (held: number, n: number) => `${((100 * held) / n).toFixed(1)}%`;

function main(): number {
  const cases = generateCases(SEED, '2024-01-01', 24);
  const result = backtest(cases, { from: '2025-01-01' });
  console.log(`预计办结日期回测 (completion prediction backtest): seed ${SEED}, ${cases.length} cases generated`);
  console.log(
    `${result.cases} completed cases filed in 2025, each predicted on every working day it was open: ${result.predictions} predictions\n`,
  );
  console.log('level     predictions   p50 held   p80 held');
  for (const l of [...result.byLevel, { level: 'ALL', ...result }]) {
    console.log(
      `${l.level.padEnd(9)} ${String(l.predictions).padStart(11)}   ${pct(l.p50Held, l.predictions).padStart(8)}   ${pct(l.p80Held, l.predictions).padStart(8)}`,
    );
  }
  const p80 = result.p80Held / result.predictions;
  if (result.cases < MIN_CASES) {
    console.error(`\nFAIL: only ${result.cases} cases predicted (at least ${MIN_CASES} needed)`);
    return 1;
  }
  if (p80 < P80_RANGE[0] || p80 > P80_RANGE[1]) {
    console.error(
      `\nFAIL: the p80 date held for ${pct(result.p80Held, result.predictions)} of the predictions (should be 75–85%)`,
    );
    return 1;
  }
  console.log(
    `\nOK: the p80 date held for ${pct(result.p80Held, result.predictions)} of ${result.predictions} predictions over ${result.cases} cases (75–85%)`,
  );
  return 0;
}

process.exit(main());
