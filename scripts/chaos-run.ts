// One chaos run: start the stack, drive the planned cases while the planned faults happen, let the system drain,
// check the invariants, report. `npm run chaos` (scripts/chaos.ts) and test/chaos.test.ts both call runChaos.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ApiClient, DEFAULT_RETRY, type Attempt } from '../test/support/api-client';
import { runChecks, type Check } from './chaos-checks';
import { driveAll, type CaseRecord } from './chaos-clients';
import { planCases, planFaults, Rng, type FaultPlan, type Pupil } from './chaos-plan';
import { MAIL_LEASE_MS, startChaosStack, TASK_QUEUE, type ChaosStack } from './chaos-stack';

export interface ChaosOptions {
  cases: number;
  faults: number;
  seed: string;
  /** Cases driven at once. */
  concurrency: number;
  /** Quiet time before each fault and the outage after it, in ms (uniform in [min, max], from the seed). */
  gapMs: [number, number];
  outageMs: [number, number];
  /** After the last case and fault: how long the system may take to finish its work (workflows, mail). */
  graceMs: number;
  /** Keep the work directory (logs, data) even when every check passed. */
  keep?: boolean;
  /** Progress lines (faults, restarts, cases done); the summary is returned either way. */
  log?: (line: string) => void;
}

export interface FaultRecord extends FaultPlan {
  at: string;
  /** From the kill until the component answered again (the outage plus its restart). */
  downMs: number;
}

export interface ChaosReport {
  options: ChaosOptions;
  workDir: string;
  kept: boolean;
  checks: Check[];
  passed: number;
  failed: number;
  faults: FaultRecord[];
  /** The printable summary, ending in `N passed, M failed`. */
  lines: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function injectFault(stack: ChaosStack, f: FaultPlan, log: (m: string) => void): Promise<number> {
  const t0 = Date.now();
  log(
    `fault ${f.n}: ${f.kind}${f.kind === 'api' || f.kind === 'temporal' ? '' : ` (${f.variant})`} down for ${f.outageMs} ms`,
  );
  switch (f.kind) {
    case 'api':
      await stack.api.kill('SIGKILL');
      await sleep(f.outageMs);
      await stack.api.startUntilReady();
      break;
    case 'worker': {
      const w = stack.workers[f.variant === 'worker-2' ? 1 : 0];
      await w.kill('SIGKILL');
      await sleep(f.outageMs);
      await w.startUntilReady();
      break;
    }
    case 'temporal':
      await stack.killTemporal();
      await sleep(f.outageMs);
      await stack.startTemporal();
      break;
    case 'postgres':
      await stack.killPostgres(f.variant as 'immediate' | 'sigkill');
      await sleep(f.outageMs);
      await stack.startPostgres();
      break;
  }
  const down = Date.now() - t0;
  log(`fault ${f.n}: ${f.kind} back after ${secs(down)}`);
  return down;
}

/** Waits until nothing is left to do (no open case, no unsent mail, no running workflow) or the grace period ends. */
async function drain(stack: ChaosStack, temporal: Client, graceMs: number, log: (m: string) => void) {
  const until = Date.now() + graceMs;
  let last = '';
  for (;;) {
    let state: string;
    try {
      const open = await stack.prisma.application.count({ where: { status: { in: ['IN_REVIEW', 'RETURNED'] } } });
      const unsent = await stack.prisma.mailOutbox.count({ where: { sentAt: null } });
      let running = 0;
      for await (const _ of temporal.workflow.list({
        query: `TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Running'`,
      })) {
        running += 1;
      }
      state = `${open} open cases, ${unsent} unsent mails, ${running} running workflows`;
      if (open === 0 && unsent === 0 && running === 0) return `drained: ${state}`;
    } catch (e) {
      state = `not answering: ${(e as Error).message.split('\n')[0]}`;
    }
    if (state !== last) log(`draining: ${state}`);
    last = state;
    if (Date.now() > until) return `grace period over: ${state}`;
    await sleep(1000);
  }
}

function requestTable(attempts: Attempt[]): string[] {
  const byRoute = new Map<string, Map<string, number>>();
  for (const a of attempts) {
    const m = byRoute.get(a.route) ?? new Map<string, number>();
    m.set(String(a.status), (m.get(String(a.status)) ?? 0) + 1);
    byRoute.set(a.route, m);
  }
  const width = Math.max(...[...byRoute.keys()].map((k) => k.length), 10);
  return [...byRoute]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([route, m]) =>
        `  ${route.padEnd(width)}  ${[...m]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}`,
    );
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-chaos-'));
  // Postgres runs as the `postgres` user when we are root: it must reach its data directory.
  fs.chmodSync(workDir, 0o755);
  const events = fs.createWriteStream(path.join(workDir, 'events.log'), { flags: 'a' });
  const log = (m: string) => {
    const line = `[${new Date().toISOString()}] ${m}`;
    events.write(`${line}\n`);
    o.log?.(line);
  };
  log(`chaos run: seed ${o.seed}, ${o.cases} cases, ${o.faults} faults, ${o.concurrency} clients; work dir ${workDir}`);

  const stack = await startChaosStack({ workDir, pupilsPerSchool: Math.max(40, o.cases), log });
  const setupMs = Date.now() - started;
  let temporalConnection: Connection | null = null;
  let kept = true;
  try {
    const rows = await stack.prisma.student.findMany({
      where: { problemFlag: false },
      select: {
        studentNo: true,
        schoolCode: true,
        status: true,
        grade: true,
        school: { select: { parentCode: true } },
      },
    });
    const pupils: Pupil[] = rows.map((p) => ({
      studentNo: p.studentNo,
      schoolCode: p.schoolCode,
      countyCode: p.school.parentCode ?? p.schoolCode,
      status: p.status,
      grade: p.grade,
    }));
    const plans = planCases(o.seed, o.cases, pupils);
    const faultPlans = planFaults(o.seed, o.faults, { gapMs: o.gapMs, outageMs: o.outageMs });
    const client = new ApiClient(
      stack.apiUrl,
      DEFAULT_RETRY,
      (() => {
        const r = new Rng(o.seed, 'jitter');
        return () => r.next();
      })(),
    );

    // Cases are let in gradually, a batch before each fault and the last batch after the last one, so traffic runs
    // through every fault and the last cases run on a quiet system.
    let faultsDone = 0;
    const released = () => Math.ceil((o.cases * (faultsDone + 1)) / (o.faults + 1));
    let casesDone = 0;
    const trafficStart = Date.now();
    const faults: FaultRecord[] = [];
    const [records] = await Promise.all([
      driveAll(client, plans, {
        concurrency: o.concurrency,
        released,
        onCaseDone: (r) => {
          casesDone += 1;
          if (r.anomalies.length) log(`case #${r.plan.index} (id ${r.id}): ${r.anomalies.join('; ')}`);
          if (casesDone % 10 === 0 || casesDone === o.cases) log(`${casesDone}/${o.cases} cases done`);
        },
      }),
      (async () => {
        for (const f of faultPlans) {
          await sleep(f.gapMs);
          const at = new Date().toISOString();
          const downMs = await injectFault(stack, f, log);
          faults.push({ ...f, at, downMs });
          faultsDone += 1;
        }
      })(),
    ]);
    const trafficMs = Date.now() - trafficStart;

    temporalConnection = await Connection.connect({ address: stack.temporalAddress });
    const temporal = new Client({ connection: temporalConnection });
    const drainStart = Date.now();
    log(await drain(stack, temporal, o.graceMs, log));
    const drainMs = Date.now() - drainStart;

    const checks = await runChecks({
      prisma: stack.prisma,
      temporal,
      taskQueue: TASK_QUEUE,
      records,
      attempts: client.attempts,
      mail: stack.smtp.received,
      mailLeaseMs: MAIL_LEASE_MS,
      faults,
      processes: [stack.api, ...stack.workers].map((p) => ({ name: p.opts.name, crashes: p.crashes })),
    });
    const passed = checks.filter((c) => c.ok).length;
    const failed = checks.length - passed;

    const lines = summarise({
      o,
      records,
      faults,
      attempts: client.attempts,
      stack,
      checks,
      times: { setupMs, trafficMs, drainMs, totalMs: Date.now() - started },
      workDir,
    });
    kept = failed > 0 || !!o.keep;
    fs.writeFileSync(
      path.join(workDir, 'report.json'),
      JSON.stringify(
        {
          options: o,
          faults,
          checks,
          cases: records.map((r) => ({
            index: r.plan.index,
            id: r.id,
            type: r.plan.type,
            pupil: r.plan.pupil.studentNo.slice(0, 7) + '…',
            chain: r.plan.chain.map((s) => s.stage),
            ending: r.plan.ending,
            expected: r.plan.expected,
            createdVia: r.createdVia,
            anomalies: r.anomalies,
            appliedUnanswered: r.appliedUnanswered,
            trace: r.trace,
          })),
          non503Failures: client.attempts.filter(
            (a) => typeof a.status === 'number' && a.status >= 500 && a.status !== 503,
          ),
        },
        null,
        2,
      ),
    );
    return { options: o, workDir, kept, checks, passed, failed, faults, lines };
  } finally {
    await temporalConnection?.close().catch(() => undefined);
    await stack.close();
    await new Promise((r) => events.end(r));
    if (!kept) fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function summarise(s: {
  o: ChaosOptions;
  records: CaseRecord[];
  faults: FaultRecord[];
  attempts: Attempt[];
  stack: ChaosStack;
  checks: Check[];
  times: { setupMs: number; trafficMs: number; drainMs: number; totalMs: number };
  workDir: string;
}): string[] {
  const count = <T>(xs: T[], key: (x: T) => string) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
    return [...m]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  };
  const downs = s.faults.map((f) => f.downMs).sort((a, b) => a - b);
  const answered = s.attempts.filter((a) => a.status !== 'network').length;
  const applied = s.records.flatMap((r) => r.appliedUnanswered.map((w) => ({ id: r.id, ...w })));
  const applied500 = applied.filter((w) => w.history.some((h) => h !== 'network' && h >= 500 && h !== 503));
  const lines = [
    '',
    `chaos run — seed ${s.o.seed}: ${s.o.cases} cases, ${s.faults.length} faults, ${s.o.concurrency} clients`,
    `cases:    ${count(s.records, (r) => r.plan.type)}`,
    `endings:  ${count(s.records, (r) => r.plan.ending.kind)}; filed after a retry: ${s.records.filter((r) => r.createdVia === 'adopted').length}`,
    `faults:   ${count(s.faults, (f) => (f.kind === 'worker' || f.kind === 'postgres' ? `${f.kind}/${f.variant}` : f.kind))}`,
    `          down (kill → answering again) median ${secs(downs[Math.floor(downs.length / 2)] ?? 0)}, max ${secs(downs.at(-1) ?? 0)}`,
    `crashes:  ${[s.stack.api, ...s.stack.workers].map((p) => `${p.opts.name} ${p.crashes.length}`).join(', ')} (exits nobody caused; restarted)`,
    `requests: ${s.attempts.length} attempts (${answered} answered, ${s.attempts.length - answered} without an answer); by route and status:`,
    ...requestTable(s.attempts),
    `applied though unanswered: ${applied.length} writes took effect while their client saw no answer or a 5xx (the retry found them done)${
      applied500.length
        ? `; ${applied500.length} of them were answered 500, e.g. case id ${applied500[0].id} ${applied500[0].call} (${applied500[0].history.join(', ')})`
        : ''
    }`,
    `mail:     ${s.stack.smtp.received.length} messages at the SMTP sink`,
    `time:     setup ${secs(s.times.setupMs)}, traffic and faults ${secs(s.times.trafficMs)}, drain ${secs(s.times.drainMs)}, total ${secs(s.times.totalMs)}`,
    '',
    'invariants:',
  ];
  for (const c of s.checks) {
    lines.push(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.summary}`);
    for (const f of c.failures.slice(0, 15)) lines.push(`       - ${f}`);
    if (c.failures.length > 15) lines.push(`       … and ${c.failures.length - 15} more (report.json)`);
  }
  const failed = s.checks.filter((c) => !c.ok).length;
  if (failed || s.o.keep) lines.push('', `logs, data and report.json kept in ${s.workDir}`);
  lines.push('', `${s.checks.length - failed} passed, ${failed} failed`);
  return lines;
}
