// `npm run chaos -- --cases N [--faults K] [--seed S]`: the fault suite on a stack of its own (see README, "The
// chaos suite"). Prints a summary whose last line is `N passed, M failed`; exit code 1 when an invariant is broken.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { runChaos } from './chaos-run';

const range = (text: string, name: string): [number, number] => {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new Error(`--${name} takes milliseconds, e.g. 500-4000`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
};

// Ctrl-C: exit, so the exit hooks take down every process the run started.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

async function main() {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '30' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      gap: { type: 'string', default: '1000-4000' },
      outage: { type: 'string', default: '500-4000' },
      grace: { type: 'string', default: '180' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`npm run chaos -- --cases N [--faults K] [--seed S] [--concurrency C] [--gap MS-MS] [--outage MS-MS]
                       [--grace SECONDS] [--keep]
  N cases driven to the end by C concurrent clients while K faults (default N/6, at least 8) kill the API, the
  workers, Temporal and Postgres; the same seed gives the same cases and the same fault schedule.`);
    return;
  }
  const cases = Number(values.cases);
  const faults = values.faults !== undefined ? Number(values.faults) : Math.max(8, Math.ceil(cases / 6));
  const concurrency = Number(values.concurrency);
  const grace = Number(values.grace);
  for (const [name, v] of Object.entries({ cases, faults, concurrency, grace })) {
    if (!Number.isInteger(v) || v < (name === 'faults' ? 0 : 1)) throw new Error(`--${name} must be a whole number`);
  }
  const report = await runChaos({
    cases,
    faults,
    seed: values.seed ?? randomBytes(4).toString('hex'),
    concurrency,
    gapMs: range(values.gap!, 'gap'),
    outageMs: range(values.outage!, 'outage'),
    graceMs: grace * 1000,
    keep: values.keep,
    log: (line) => console.log(line),
  });
  console.log(report.lines.join('\n'));
  process.exitCode = report.failed > 0 ? 1 : 0;
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  // The Temporal client's native handle can keep the event loop alive after everything is closed.
  .finally(() => setTimeout(() => process.exit(), 100).unref());
