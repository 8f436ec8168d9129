import { runChaos } from '../scripts/chaos-run';
import { FAULT_KINDS } from '../scripts/chaos-plan';

// The chaos suite, short: its own Postgres and Temporal (on a file), two workers and the API as separate processes,
// 30 cases driven to their planned ends while each kind of fault happens three times. `npm run chaos` is the long
// version (README, "The chaos suite").

test('30 cases through 12 faults: none lost, stuck, moved twice or mailed twice; no 5xx but 503', async () => {
  const report = await runChaos({
    cases: 30,
    faults: 12,
    seed: 'npm-test',
    concurrency: 6,
    gapMs: [500, 2000],
    outageMs: [300, 2000],
    graceMs: 120_000,
  });
  // Printed when something broke: the summary names each broken case, and where the logs were kept.
  if (report.failed) console.log(report.lines.join('\n'));

  for (const kind of FAULT_KINDS) expect(report.faults.filter((f) => f.kind === kind).length).toBeGreaterThanOrEqual(3);
  expect(report.checks.length).toBeGreaterThanOrEqual(9);
  expect(report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.failures.slice(0, 5).join(' | ')}`)).toEqual([]);
  expect(report.lines.at(-1)).toBe(`${report.checks.length} passed, 0 failed`);
}, 600_000);
