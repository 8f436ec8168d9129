// `npm run test:production`: the production path, run for real on this machine. The compiled build (npm run build,
// the Dockerfile's build) staged with production dependencies only and run by the image's Node major; Postgres 15;
// the real Temporal server on it; migrate/seed/temporal-setup jobs; two workers and two API processes behind nginx.
// Then, through nginx only: transfers through every stage, a RETURN and resubmit, a status change, while one worker
// and one API process are killed and restarted mid-run — and the checks: nothing lost, nothing moved twice, no 5xx
// but 503, search attributes on the real server, the stuck view and statistics, the proxy hop, metrics, the audit
// chain. Last line `N passed, M failed`; exit code 1 on any failure.
//
//   npm run test:production [-- --cases 12] [-- --keep]     (--keep leaves the work directory for inspection)
//   npm run test:production -- --measure                    (then the throughput figures README's sizing uses)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { ApiClient, type Answer } from '../test/support/api-client';
import { Checks, expectThat } from '../test/support/checks';
import {
  buildAndStage,
  devToolsPresent,
  PROXY_ADDRESS,
  startApp,
  startDatabases,
  startTemporal,
  type AppProcesses,
} from '../test/support/production-stack';
import { measureBytesPerCase, measureThroughput, postgresPids, withChildren } from '../test/support/production-figures';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : def;
};
const CASES = Number(arg('cases', '12'));
const KEEP = process.argv.includes('--keep');
const MEASURE = process.argv.includes('--measure');
/** Transfers driven to measure bytes per case (more cases, less rounding to Postgres pages). */
const MEASURE_CASES = Number(arg('measure-cases', '200'));
const started = Date.now();
const say = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SOON = () => new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
const TODAY = () => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);

type CaseDto = {
  id: number;
  status: string;
  round: number;
  currentStage: string | null;
  steps: { stage: string; decision: string | null }[];
};

/** The transfer chain across two counties, and who holds each stage. */
const CHAINS = {
  // 遵义市红花岗区 → 南江县: receiving school, its bureau, the sending school, its bureau.
  A: {
    from: '5203020001',
    to: '5119220001',
    holders: [
      ['RECEIVING_SCHOOL', 'nj.s1'],
      ['RECEIVING_COUNTY', 'nj.edu'],
      ['SENDING_SCHOOL', 'hhg.s1'],
      ['SENDING_COUNTY', 'hhg.edu'],
    ],
  },
  B: {
    from: '5203020002',
    to: '5119220002',
    holders: [
      ['RECEIVING_SCHOOL', 'nj.s2'],
      ['RECEIVING_COUNTY', 'nj.edu'],
      ['SENDING_SCHOOL', 'hhg.s2'],
      ['SENDING_COUNTY', 'hhg.edu'],
    ],
  },
} as const;

class Scenario {
  readonly api: ApiClient;
  /** Problems met while driving (a final answer that was not the expected one). */
  readonly problems: string[] = [];
  decisions = 0;

  constructor(
    readonly procs: AppProcesses,
    readonly db: PgClient,
  ) {
    this.api = new ApiClient(procs.url, {
      deadlineMs: 180_000,
      requestTimeoutMs: 30_000,
      baseDelayMs: 200,
      maxDelayMs: 3000,
    });
  }

  async openCaseOf(studentNo: string): Promise<number | null> {
    const r = await this.db.query<{ id: number }>(
      `select id from "Application" where "studentNo" = $1 and status in ('IN_REVIEW', 'RETURNED') order by id desc limit 1`,
      [studentNo],
    );
    return r.rows[0]?.id ?? null;
  }

  /** Files a case; a 409 after an attempt that got no answer is our own earlier attempt: its case is looked up. */
  async file(user: string, body: Record<string, unknown>): Promise<number> {
    const a = await this.api.post<CaseDto>(user, '/api/applications', body);
    if (a.status === 201) return a.body.id;
    if (a.status === 409 && a.uncertain) {
      const id = await this.openCaseOf(String(body.studentNo));
      if (id) return id;
    }
    throw new Error(
      `filing ${String(body.type)} for ${String(body.studentNo)} as ${user}: ${a.status} ${JSON.stringify(a.body)}`,
    );
  }

  private async settled(user: string, id: number, what: string, a: Answer<CaseDto>, applied: (c: CaseDto) => boolean) {
    if (a.status === 200) return a.body;
    if (a.status === 409 && a.uncertain) {
      const now = await this.api.get<CaseDto>(user, `/api/applications/${id}`);
      if (now.status === 200 && applied(now.body)) return now.body;
    }
    throw new Error(`${what} on case ${id} as ${user}: ${a.status} ${JSON.stringify(a.body)}`);
  }

  async decide(user: string, id: number, stage: string, decision = 'APPROVE', comment?: string): Promise<CaseDto> {
    const a = await this.api.post<CaseDto>(user, `/api/applications/${id}/decisions`, { stage, decision, comment });
    this.decisions += 1;
    return this.settled(user, id, `${decision} ${stage}`, a, (c) =>
      c.steps.some((s) => s.stage === stage && s.decision === decision),
    );
  }

  async resubmit(user: string, id: number, body: Record<string, unknown>, round: number): Promise<CaseDto> {
    const a = await this.api.post<CaseDto>(user, `/api/applications/${id}/resubmit`, body);
    return this.settled(user, id, 'resubmit', a, (c) => c.round > round);
  }

  /** A transfer from filing to the last approval; `onDecision` runs after each decision (the fault schedule). */
  async transfer(chain: (typeof CHAINS)[keyof typeof CHAINS], studentNo: string, onDecision: () => Promise<void>) {
    const id = await this.file(chain.holders[0][1], {
      type: 'TRANSFER',
      studentNo,
      reason: '随父母工作调动',
      effectiveDate: SOON(),
    });
    for (const [stage, user] of chain.holders) {
      await this.decide(user, id, stage);
      await onDecision();
    }
    return id;
  }
}

async function pupils(db: PgClient, school: string, n: number, skip = 0): Promise<string[]> {
  const r = await db.query<{ studentNo: string }>(
    `select "studentNo" from "Student" s where "schoolCode" = $1 and status = 'ENROLLED' and not "problemFlag"
        and not exists (select 1 from "Application" a where a."studentNo" = s."studentNo")
      order by "studentNo" limit $2 offset $3`,
    [school, n, skip],
  );
  return r.rows.map((x) => x.studentNo);
}

/**
 * How long Temporal may lag the read model after a worker is killed: the killed worker's workflow task times out
 * (10 s) and its sticky queue is given up (10 s) before the surviving worker replays it; twice that, for a slow day.
 */
const TEMPORAL_CATCH_UP_MS = 45_000;

async function waitUntil<T>(what: string, fn: () => Promise<T | null | false | undefined>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * Reads `read()` until `done` holds of it or `ms` have passed: the last reading either way and how long it took, so
 * that a check can say what it saw when the wait ran out.
 */
async function lastReading<T>(read: () => Promise<T>, done: (v: T) => boolean, ms: number) {
  const since = Date.now();
  for (;;) {
    const value = await read();
    const ok = done(value);
    if (ok || Date.now() - since > ms) return { value, ok, afterMs: Date.now() - since };
    await sleep(250);
  }
}

async function fetchText(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function main() {
  const checks = new Checks();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-production-'));
  fs.chmodSync(work, 0o755);
  say(`work directory ${work}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    // ---- the build, as the image builds it
    const { node, app } = buildAndStage(work, say);
    await checks.check('the compiled build runs without a TypeScript toolchain', () => {
      const present = devToolsPresent(app);
      expectThat(present.length === 0, `development packages in the staged build: ${present.join(', ')}`);
      const ts = spawnSync('find', [app, '-name', '*.ts', '-not', '-path', '*/node_modules/*'], { encoding: 'utf8' });
      expectThat(ts.stdout.trim() === '', `TypeScript sources in the build: ${ts.stdout.trim().slice(0, 200)}`);
      expectThat(fs.existsSync(path.join(app, 'generated', 'workflow-bundle.js')), 'no prebuilt workflow bundle');
      return `Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}, dist/ + npm ci --omit=dev`;
    });

    // ---- Postgres 15, the real Temporal server, the app
    const dbs = await startDatabases(path.join(work, 'pg'), say);
    cleanups.push(() => dbs.pg.stop());
    const temporal = await startTemporal(dbs, path.join(work, 'temporal'), say);
    cleanups.push(() => temporal.server.stop());
    const procs = await startApp({
      node,
      app,
      dir: path.join(work, 'app-data'),
      databaseUrl: dbs.appUrl,
      temporalAddress: temporal.server.address,
      workers: 2,
      apis: 2,
      seed: true,
      log: say,
      env: { LOGIN_IP_LIMIT: '5', LOGIN_IP_WINDOW: '10m' },
    });
    cleanups.push(() => procs.close());
    const db = new PgClient({ connectionString: dbs.appUrl });
    await db.connect();
    cleanups.push(() => db.end());
    const tconn = await Connection.connect({ address: temporal.server.address });
    cleanups.push(() => tconn.close());
    const tclient = new TemporalClient({ connection: tconn, namespace: 'default' });

    await checks.check('ready through nginx (/readyz: Postgres and Temporal answer)', async () => {
      const r = await fetchText(`${procs.url}/readyz`);
      expectThat(r.status === 200, `${r.status} ${r.text}`);
    });

    // ---- the run: transfers through every stage, a RETURN and resubmit, a status change — with faults
    const s = new Scenario(procs, db);
    const perChain = Math.ceil(CASES / 2);
    const lanesA = await pupils(db, CHAINS.A.from, perChain);
    const lanesB = await pupils(db, CHAINS.B.from, CASES - perChain);
    const totalDecisions = CASES * 4 + 5 + 2;
    let faultsDone = false;
    const faults: string[] = [];
    const onDecision = async () => {
      if (faultsDone || s.decisions < totalDecisions * 0.35) return;
      faultsDone = true;
      // A crash of one worker and one API process mid-run (SIGKILL: no clean shutdown), restarted a little later
      // as a process manager (compose: restart: unless-stopped) would.
      const [worker, api] = [procs.workers[0], procs.apis[0]];
      await Promise.all([worker.kill('SIGKILL'), api.kill('SIGKILL')]);
      faults.push(`killed worker-1 and api-1 after ${s.decisions} decisions`);
      say(faults[0]);
      setTimeout(() => {
        void Promise.all([worker.startUntilReady(500), api.startUntilReady(500)]).then(
          () => say('worker-1 and api-1 restarted'),
          (e: unknown) => s.problems.push(`restart failed: ${String(e)}`),
        );
      }, 4000);
    };
    const filed: { id: number; studentNo: string; to: string }[] = [];
    const lane = async (chain: (typeof CHAINS)[keyof typeof CHAINS], list: string[]) => {
      for (const studentNo of list) {
        try {
          filed.push({ id: await s.transfer(chain, studentNo, onDecision), studentNo, to: chain.to });
        } catch (e) {
          s.problems.push(String(e instanceof Error ? e.message : e));
        }
      }
    };
    // 王芳 abroad: the bureau sends it back for a correction, the school resubmits (RETURN + resubmit).
    const WANG = 'G511922201403010035';
    const returned = async () => {
      const id = await s.file('nj.s1', {
        type: 'STUDY_ABROAD',
        studentNo: WANG,
        reason: '随父母出国',
        effectiveDate: TODAY(),
        details: { destination: '新家坡' },
      });
      await s.decide('nj.s1', id, 'SCHOOL');
      const back = await s.decide('nj.edu', id, 'COUNTY', 'RETURN', '国家名称有误，请更正');
      expectThat(back.status === 'RETURNED', `after RETURN: ${back.status}`);
      await s.resubmit('nj.s1', id, { details: { destination: '新加坡' } }, back.round);
      await s.decide('nj.s1', id, 'SCHOOL');
      await s.decide('nj.edu', id, 'COUNTY');
      return id;
    };
    // A status change (休学) at 南江县第二小学: school, then county.
    const suspendPupil = (await pupils(db, '5119220002', 1))[0];
    const suspend = async () => {
      const id = await s.file('nj.s2', {
        type: 'SUSPEND',
        studentNo: suspendPupil,
        reason: '因病休学',
        effectiveDate: TODAY(),
        details: { expectedReturnDate: new Date(Date.now() + 180 * 86_400_000).toISOString().slice(0, 10) },
      });
      await s.decide('nj.s2', id, 'SCHOOL');
      await onDecision();
      await s.decide('nj.edu', id, 'COUNTY');
      return id;
    };
    say(`driving ${CASES} transfers, one RETURN + resubmit and one status change through nginx…`);
    const half = (l: string[], k: 0 | 1) => l.filter((_, i) => i % 2 === k);
    const [returnedId, suspendId] = await Promise.all([
      returned().catch((e: unknown) => (s.problems.push(`RETURN/resubmit: ${String(e)}`), null)),
      suspend().catch((e: unknown) => (s.problems.push(`status change: ${String(e)}`), null)),
      lane(CHAINS.A, half(lanesA, 0)),
      lane(CHAINS.A, half(lanesA, 1)),
      lane(CHAINS.B, half(lanesB, 0)),
      lane(CHAINS.B, half(lanesB, 1)),
    ]);
    await waitUntil(
      'the killed processes to be back',
      async () => procs.workers[0].running && procs.apis[0].running,
      120_000,
    ).catch((e: unknown) => s.problems.push(String(e)));
    say(`driven: ${filed.length} transfers, ${s.decisions} decisions, ${s.api.attempts.length} HTTP attempts`);

    await checks.check('one worker and one API process were killed mid-run and came back', () => {
      expectThat(faults.length === 1, 'the fault never happened');
      expectThat(procs.workers[0].starts === 2 && procs.apis[0].starts >= 2, 'not restarted');
      return faults[0];
    });
    await checks.check('every request got a final answer; nothing a client did went astray', () => {
      expectThat(s.problems.length === 0, s.problems.join('; '));
      return `${s.api.attempts.length} attempts`;
    });
    await checks.check('no client saw a 5xx other than 503', () => {
      const bad = s.api.attempts.filter((a) => typeof a.status === 'number' && a.status >= 500 && a.status !== 503);
      expectThat(bad.length === 0, bad.map((a) => `${a.route} ${a.status} ${a.detail ?? ''}`).join('; '));
      const unavailable = s.api.attempts.filter((a) => a.status === 503).length;
      const network = s.api.attempts.filter((a) => a.status === 'network').length;
      return `${unavailable} × 503 (retried), ${network} without an answer`;
    });
    await checks.check(`nothing lost: all ${CASES} transfers APPROVED, the pupil at the receiving school`, async () => {
      expectThat(filed.length === CASES, `${filed.length} of ${CASES} transfers finished`);
      const ids = filed.map((f) => f.id);
      await waitUntil(
        'every transfer APPROVED in the read model',
        async () =>
          (
            await db.query(`select count(*)::int n from "Application" where id = any($1) and status = 'APPROVED'`, [
              ids,
            ])
          ).rows[0].n === CASES,
      );
      const wrong = await db.query(
        `select a.id, s."schoolCode", a."toSchoolCode" from "Application" a join "Student" s using ("studentNo")
          where a.id = any($1) and s."schoolCode" is distinct from a."toSchoolCode"`,
        [ids],
      );
      expectThat(wrong.rowCount === 0, `pupils not at the receiving school: ${JSON.stringify(wrong.rows)}`);
    });
    await checks.check('nothing moved twice: one history line per approved case and per pupil', async () => {
      const r = await db.query<{ studentNo: string; n: number }>(
        `select "studentNo", count(*)::int n from "StudentHistory" where "studentNo" = any($1) group by 1`,
        [filed.map((f) => f.studentNo)],
      );
      const twice = r.rows.filter((x) => x.n !== 1);
      expectThat(r.rowCount === filed.length && twice.length === 0, `history lines: ${JSON.stringify(r.rows)}`);
    });
    await checks.check('RETURN and resubmit: round 2 approved, the corrected destination recorded', async () => {
      expectThat(returnedId, 'the case did not get through');
      const r = await db.query(`select status, round, details from "Application" where id = $1`, [returnedId]);
      expectThat(r.rows[0]?.status === 'APPROVED' && r.rows[0].round === 2, JSON.stringify(r.rows[0]));
      expectThat(r.rows[0].details?.destination === '新加坡', `details ${JSON.stringify(r.rows[0].details)}`);
    });
    await checks.check('a status change (休学): school then county, the pupil suspended', async () => {
      expectThat(suspendId, 'the case did not get through');
      await waitUntil('the suspension applied', async () => {
        const r = await db.query(`select status from "Student" where "studentNo" = $1`, [suspendPupil]);
        return r.rows[0]?.status === 'SUSPENDED';
      });
    });

    // ---- cases left open at known stages: search attributes on the real server, stuck view, statistics
    const waiting = await pupils(db, CHAINS.A.from, 3);
    const open: number[] = [];
    for (const studentNo of waiting) {
      const id = await s.file('nj.s1', {
        type: 'TRANSFER',
        studentNo,
        reason: '随父母工作调动',
        effectiveDate: SOON(),
      });
      await s.decide('nj.s1', id, 'RECEIVING_SCHOOL');
      open.push(id);
    }
    await checks.check(
      'search attributes queried on the real Temporal server (SQL visibility) match Postgres',
      async () => {
        const q = `XjHolderOrg='511922' AND XjStage='RECEIVING_COUNTY' AND XjChangeType='TRANSFER' AND ExecutionStatus='Running'`;
        const inDb = (
          await db.query(
            `select count(*)::int n from "Application" where status = 'IN_REVIEW' and "currentStage" = 'RECEIVING_COUNTY' and "currentOrgCode" = '511922'`,
          )
        ).rows[0].n as number;
        expectThat(inDb === open.length, `Postgres has ${inDb} waiting at 南江县教育局, expected ${open.length}`);
        const n = await waitUntil(`${q} to count ${inDb}`, async () => {
          const { count } = await tclient.workflow.count(q);
          return count === inDb ? count : null;
        });
        // A transfer's last write commits inside its workflow task; when the worker running that task was the one
        // killed, the workflow completes once Temporal hands the task to the surviving worker (after the task's 10 s
        // timeout), so the read model can be ahead of Temporal for that long.
        const completed = await lastReading(
          async () => (await tclient.workflow.count(`XjChangeType='TRANSFER' AND ExecutionStatus='Completed'`)).count,
          (c) => c >= CASES,
          TEMPORAL_CATCH_UP_MS,
        );
        expectThat(completed.ok, `${completed.value} completed transfer workflows, expected ≥ ${CASES}`);
        return `${n} running at 511922/RECEIVING_COUNTY, ${completed.value} completed transfers (after ${completed.afterMs} ms)`;
      },
    );
    await checks.check('no running workflow for a closed case, none missing for an open one', async () => {
      const compare = async () => {
        const running = new Set<string>();
        for await (const w of tclient.workflow.list({ query: `ExecutionStatus='Running'` })) running.add(w.workflowId);
        const openIds = (
          await db.query<{ workflowId: string }>(
            `select "workflowId" from "Application" where status in ('IN_REVIEW','RETURNED')`,
          )
        ).rows.map((r) => r.workflowId);
        const missing = openIds.filter((w) => !running.has(w));
        const extra = [...running].filter((w) => !openIds.includes(w));
        return { running: running.size, open: openIds.length, missing, extra };
      };
      // Same catch-up as above: a workflow whose last task was on the killed worker completes a little later.
      const inStep = await lastReading(
        compare,
        (c) => c.missing.length === 0 && c.extra.length === 0,
        TEMPORAL_CATCH_UP_MS,
      );
      const last = inStep.value;
      expectThat(inStep.ok, `missing ${last.missing.join(',')} extra ${last.extra.join(',')}`);
      return `${last.running} running = ${last.open} open (after ${inStep.afterMs} ms)`;
    });
    await checks.check('the stuck view through nginx: the open cases listed, no technical fault', async () => {
      const all = await s.api.get<{ items: { id: number }[]; technicalUnavailable: boolean }>(
        'admin',
        '/api/admin/stuck?kind=all',
      );
      expectThat(all.status === 200, `stuck ${all.status}`);
      expectThat(!all.body.technicalUnavailable, 'Temporal reported unavailable');
      const listed = new Set(all.body.items.map((i) => i.id));
      expectThat(
        open.every((id) => listed.has(id)),
        `open cases missing from the stuck view`,
      );
      const technical = await s.api.get<{ items: unknown[] }>('admin', '/api/admin/stuck?kind=technical');
      expectThat(
        technical.status === 200 && technical.body.items.length === 0,
        JSON.stringify(technical.body).slice(0, 300),
      );
      return `${all.body.items.length} open cases listed`;
    });
    await checks.check('statistics through nginx agree with the run (JSON and Excel)', async () => {
      const st = await s.api.get<{ byStage: { stage: string; open: number; decided: number }[] }>(
        'admin',
        '/api/admin/stats',
      );
      expectThat(st.status === 200, `stats ${st.status}`);
      const at = (stage: string) => st.body.byStage.find((b) => b.stage === stage);
      expectThat(
        at('RECEIVING_COUNTY')?.open === open.length,
        `RECEIVING_COUNTY open ${JSON.stringify(at('RECEIVING_COUNTY'))}`,
      );
      expectThat(
        (at('SENDING_COUNTY')?.decided ?? 0) >= CASES,
        `SENDING_COUNTY decided ${JSON.stringify(at('SENDING_COUNTY'))}`,
      );
      const token = await s.api.token('admin');
      const xlsx = await fetch(`${procs.url}/api/admin/stats.xlsx`, { headers: { authorization: `Bearer ${token}` } });
      expectThat(xlsx.status === 200 && (await xlsx.arrayBuffer()).byteLength > 1000, `stats.xlsx ${xlsx.status}`);
    });
    await checks.check('the audit chain verifies (node scripts/audit-verify.js in the build)', () => {
      const r = spawnSync(node, ['scripts/audit-verify.js'], { cwd: app, env: procs.env, encoding: 'utf8' });
      expectThat(r.status === 0, `${r.status} ${r.stdout} ${r.stderr}`);
      return r.stdout.trim().split('\n').pop();
    });

    // ---- the proxy hop, metrics, nginx's own errors
    await checks.check(
      'login limit through nginx counts the real client: a spoofed X-Forwarded-For is ignored',
      async () => {
        // LOGIN_IP_LIMIT=5 per API process. nginx's round robin is kept per nginx worker, so the attempts are not
        // spread evenly over the two API processes (one run sent 4 to one and 10 to the other): the property is
        // the total, at most 5 per process, however they were spread. Believed, every spoofed address would be a
        // first attempt and all 24 would be 401.
        const statuses: number[] = [];
        for (let i = 0; i < 24; i++) {
          const r = await fetch(`${procs.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${i + 1}` },
            body: JSON.stringify({ username: `spray-${i}`, password: 'Summer2026!' }),
          });
          statuses.push(r.status);
        }
        const passed = statuses.filter((x) => x === 401).length;
        const limited = statuses.filter((x) => x === 429).length;
        expectThat(
          passed <= 5 * procs.apiPorts.length && passed + limited === statuses.length,
          `statuses ${statuses.join(',')}`,
        );
        const ips = await db.query<{ ip: string }>(
          `select distinct details->>'ip' ip from "AuditEvent" where action = 'auth.login_failed' and details->>'username' like 'spray-%'`,
        );
        const seen = ips.rows.map((r) => r.ip);
        expectThat(seen.length === 1 && /127\.0\.0\.1$/.test(seen[0]), `recorded addresses ${seen.join(', ')}`);
        return `${passed} × 401, ${limited} × 429; recorded address ${seen[0]}`;
      },
    );
    await checks.check(`X-Forwarded-For from anyone but the proxy (${PROXY_ADDRESS}) is ignored`, async () => {
      // Straight to each API process from 127.0.0.1, each attempt claiming to be forwarded for a fresh address.
      // Believed, every one would be a first attempt (401); ignored, they count against 127.0.0.1 and the
      // process refuses by the sixth at the latest (earlier if the spray above already reached it). A new username
      // each time, so the unknown-username lockout cannot be what refuses.
      const statuses: number[] = [];
      for (const p of procs.apiPorts) {
        let last = 0;
        for (let i = 0; i < 6; i++) {
          const r = await fetch(`http://127.0.0.1:${p}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i + 1}` },
            body: JSON.stringify({ username: `direct-spoof-${p}-${i}`, password: 'Summer2026!' }),
          });
          last = r.status;
        }
        statuses.push(last);
      }
      expectThat(
        statuses.every((x) => x === 429),
        `statuses ${statuses.join(',')}`,
      );
      return `both API processes: ${statuses.join(', ')}`;
    });
    await checks.check('request ids: the id nginx gave a request is in the API process log', async () => {
      const r = await fetch(`${procs.url}/api/openapi.json`);
      const rid = r.headers.get('x-request-id');
      expectThat(rid, 'no X-Request-Id on the answer');
      await sleep(300);
      const logs = procs.apis.map((_, i) => path.join(work, 'app-data', 'logs', `api-${i + 1}.log`));
      const found = logs.some((f) => fs.readFileSync(f, 'utf8').includes(`"id":"${rid}"`));
      const inNginx = fs
        .readFileSync(path.join(work, 'app-data', 'nginx', 'access.log'), 'utf8')
        .includes(`rid=${rid}`);
      expectThat(found && inNginx, `request id ${rid}: API log ${found}, nginx log ${inNginx}`);
    });
    await checks.check('/metrics is not served through nginx; each API and worker process serves its own', async () => {
      const outside = await fetchText(`${procs.url}/metrics`);
      expectThat(outside.status === 404 && !outside.text.includes('xueji_'), `nginx /metrics ${outside.status}`);
      let accepted = 0;
      for (const p of procs.apiPorts) {
        const m = await fetchText(`http://127.0.0.1:${p}/metrics`);
        expectThat(m.status === 200, `API ${p} /metrics ${m.status}`);
        for (const line of m.text.split('\n')) {
          if (line.startsWith('xueji_decisions_total{') && line.includes('outcome="accepted"')) {
            accepted += Number(line.split(' ').pop());
          }
        }
        expectThat(/xueji_open_cases\{stage="RECEIVING_COUNTY"\} 3/.test(m.text), `API ${p}: open-case gauge`);
      }
      for (const p of procs.workerMetricsPorts) {
        const m = await fetchText(`http://127.0.0.1:${p}/metrics`);
        expectThat(m.status === 200 && /\ntemporal_\w+/.test(m.text), `worker ${p} metrics ${m.status}`);
      }
      // api-1 was restarted (its counters began again), so this is at least the decisions api-2 took.
      expectThat(accepted > 0, 'no accepted decision counted');
      return `${accepted} accepted decisions counted by the running processes; worker metrics from the Temporal SDK`;
    });
    await checks.check("nginx's own 502/504 reach clients as 503 problem+json with Retry-After", async () => {
      await Promise.all(procs.apis.map((a) => a.kill('SIGKILL')));
      const r = await fetchText(`${procs.url}/api/tasks`);
      await Promise.all(procs.apis.map((a) => a.startUntilReady(500)));
      expectThat(r.status === 503, `status ${r.status}`);
      expectThat(
        r.headers.get('content-type')?.startsWith('application/problem+json'),
        `type ${r.headers.get('content-type')}`,
      );
      expectThat(Number(r.headers.get('retry-after')) > 0, 'no Retry-After');
      expectThat(JSON.parse(r.text).status === 503, r.text);
    });

    if (MEASURE) {
      say('measuring (the machine is shared: figures are a floor, not a capacity)…');
      const figures: string[] = [];
      /** `cases` transfers through every stage by `lanes` concurrent clients; the decisions made. */
      const drive = async (chain: (typeof CHAINS)[keyof typeof CHAINS], cases: number, lanes: number) => {
        const list = await pupils(db, chain.from, cases);
        expectThat(list.length === cases, `only ${list.length} pupils left at ${chain.from}`);
        const before = s.decisions;
        const per = Math.ceil(list.length / lanes);
        await Promise.all(Array.from({ length: lanes }, (_, i) => lane(chain, list.slice(i * per, (i + 1) * per))));
        expectThat(s.problems.length === 0, s.problems.join('; '));
        return s.decisions - before;
      };
      figures.push(
        ...(await measureBytesPerCase({
          adminUrl: dbs.pg.adminUrl,
          cases: MEASURE_CASES,
          drive: (n) => drive(CHAINS.A, n, 4).then(() => undefined),
          say,
        })),
      );
      const groups = [
        { name: 'API', pids: () => procs.apis.filter((a) => a.running).map((a) => a.pid!) },
        { name: 'worker', pids: () => procs.workers.filter((w) => w.running).map((w) => w.pid!) },
        { name: 'Temporal server', pids: () => [temporal.server.process.pid!] },
        { name: 'Postgres', pids: () => postgresPids(path.join(work, 'pg')) },
        { name: 'nginx', pids: () => (procs.nginx.pid ? withChildren(procs.nginx.pid) : []) },
      ];
      figures.push(
        ...(await measureThroughput({
          label: '2 workers + 2 API processes, 16 clients',
          groups,
          drive: () => drive(CHAINS.B, 48, 16),
        })),
      );
      await Promise.all([procs.workers[1].close(), procs.apis[1].close()]);
      figures.push(
        ...(await measureThroughput({
          label: '1 worker + 1 API process, 16 clients',
          groups,
          drive: () => drive(CHAINS.B, 48, 16),
        })),
      );
      console.log('');
      console.log('Figures (npm run test:production -- --measure):');
      for (const line of figures) console.log(`  ${line}`);
      console.log('');
    }
  } catch (e) {
    console.error(e);
    checks.skipped('the run itself', e instanceof Error ? e.message : String(e));
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (KEEP) say(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  process.exit(checks.finish());
}

void main();
