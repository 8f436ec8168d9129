// The read model at a province's scale: N cases seeded straight into a database of their own (2,000 schools in 100
// counties, 5% open, one county holding ≥ 5,000 open cases at N = 1M), then the reads a bureau officer and an
// administrator make — 待办 and the statistics — timed at 10k cases and again at N.
import path from 'node:path';
import { hashPassword } from '../../api/auth';
import { createPrisma } from '../../infra/db';
import { migrateDatabase } from '../../infra/migrations';
import { rebuildDerivedReadModel } from '../../infra/read-model';
import { freePort } from '../../test/support/ports';
import { json, request } from './http';
import { cpuSeconds, machineCpu, treeCpuSeconds } from './proc';
import { createDatabase, query, spawnStart } from './stack';

const COUNTIES = 100;
const SCHOOLS_PER_COUNTY = 20;
const BIG_COUNTY = '590001';
/**
 * 待办 is timed on a page of this many cases at both sizes, so the growth is the query's and not the page's: the big
 * county holds 62 open cases at 10k and 6,250 at 1M, and the default page (100) would be 62 cases at one size and
 * 100 at the other. Each page carries its cases' steps and predicted completion, and the exact `total`.
 */
export const TASKS_PAGE = 50;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

/** Organisations, users and pupils: enough pupils that every open case has its own. */
async function seedBase(url: string, total: number) {
  const hash = await hashPassword('demo-password');
  const pupils = Math.max(20_000, Math.ceil(total / 10));
  await query(
    url,
    `insert into "Organisation" (code, name, kind, "parentCode")
       select '59' || lpad(c::text, 4, '0'), '基准县' || c || '教育局', 'COUNTY', null from generate_series(1, ${COUNTIES}) c;
     insert into "Organisation" (code, name, kind, "parentCode")
       select '59' || lpad(c::text, 4, '0') || lpad(s::text, 4, '0'), '基准县' || c || '第' || s || '小学', 'SCHOOL',
              '59' || lpad(c::text, 4, '0')
         from generate_series(1, ${COUNTIES}) c, generate_series(1, ${SCHOOLS_PER_COUNTY}) s;
     insert into "User" (username, "displayName", "passwordHash", role, "orgCode", "updatedAt") values
       ('admin', '系统管理员', '${hash}', 'ADMIN', null, now()),
       ('big.edu', '基准县1教育局学籍科', '${hash}', 'COUNTY_OFFICER', '${BIG_COUNTY}', now());
     insert into "Student" ("studentNo", "idNumber", name, gender, "birthDate", "schoolCode", grade, "className", "updatedAt")
       select 'G' || idn, idn, '学生' || p, case when p % 2 = 0 then 'MALE' else 'FEMALE' end::"Gender",
              date '2014-09-01' + (p % 2000), school, 1 + p % 6, '1班', now()
         from (select p, '59' || lpad((1 + p % ${COUNTIES})::text, 4, '0')
                      || to_char(date '2014-09-01' + (p % 2000), 'YYYYMMDD') || lpad((p / 2000 % 1000)::text, 3, '0') || 'X' as idn,
                      '59' || lpad((1 + p % ${COUNTIES})::text, 4, '0') || lpad((1 + p / ${COUNTIES} % ${SCHOOLS_PER_COUNTY})::text, 4, '0') as school
                 from generate_series(0, ${pupils - 1}) p) x;`,
  );
  return pupils;
}

/**
 * Cases `from`..`to` (ids), as SQL: 5% open (every 20th); an eighth of the open ones wait at the big county's
 * bureau; 30% transfers (four stages), the rest status changes (two); closed ones mostly approved, with decided
 * steps whose durations spread from minutes to weeks. Created over the past year.
 */
async function seedCases(url: string, from: number, to: number, total: number, pupils: number) {
  await query(
    url,
    `with c as (
       select i, (i % 20 = 0) as open, i / 20 as j,
              (i % 20 = 0 and (i / 20) % 8 = 0) as big,
              now() - make_interval(secs => (${total} - i) * (31536000.0 / ${total})) - interval '20 days' as created
         from generate_series(${from}::bigint, ${to}::bigint) i),
     d as (
       select c.*,
              case when big then '${BIG_COUNTY}' || lpad((1 + (j / 8) % ${SCHOOLS_PER_COUNTY})::text, 4, '0')
                   else '59' || lpad((1 + (i * 7919) % ${COUNTIES})::text, 4, '0') || lpad((1 + (i * 104729) % ${SCHOOLS_PER_COUNTY})::text, 4, '0') end as school,
              case when big then 'SUSPEND' when i % 10 < 3 then 'TRANSFER'
                   else (array['SUSPEND','RESUME','REPEAT_GRADE','SKIP_GRADE','DROP_OUT','STUDY_ABROAD','DECEASED'])[1 + i % 7] end as type,
              case when open then j % ${pupils} else (i * 2654435761) % ${pupils} end as pupil,
              case when open then 'IN_REVIEW' when i % 50 = 1 then 'REJECTED' when i % 50 = 2 then 'WITHDRAWN' else 'APPROVED' end as status
         from c),
     e as (
       select d.*, '59' || lpad((1 + (i * 31) % ${COUNTIES})::text, 4, '0') || lpad((1 + i % ${SCHOOLS_PER_COUNTY})::text, 4, '0') as to_school
         from d)
     insert into "Application" (id, type, "studentNo", "fromSchoolCode", "toSchoolCode", "applicantOrgCode", status,
                                "currentStage", "currentOrgCode", round, reason, "effectiveDate", "workflowId",
                                "workflowStartedAt", "createdById", "createdAt", "updatedAt", "closedAt")
     select i, type,
            'G59' || lpad((1 + pupil % ${COUNTIES})::text, 4, '0') || to_char(date '2014-09-01' + (pupil % 2000)::int, 'YYYYMMDD')
              || lpad((pupil / 2000 % 1000)::text, 3, '0') || 'X',
            school, case when type = 'TRANSFER' then to_school end,
            case when type = 'TRANSFER' then to_school else school end,
            status::"ApplicationStatus",
            case when not open then null when big then 'COUNTY' when type = 'TRANSFER' then 'RECEIVING_SCHOOL' else 'SCHOOL' end::"Stage",
            case when not open then null when big then '${BIG_COUNTY}' when type = 'TRANSFER' then to_school else school end,
            1, '基准', created::date, 'application-' || i, created, 1, created, created,
            case when open then null else created + interval '12 days' end
       from e`,
  );
}

/** Steps for the cases: decided ones with durations from minutes to weeks, the current one open. */
async function seedSteps(url: string, from: number, to: number) {
  await query(
    url,
    `insert into "ApplicationStep" ("applicationId", round, seq, stage, "orgCode", "openedAt", "dueAt", decision,
                                    "actorName", "decidedAt")
     select a.id, 1, s.seq, s.stage::"Stage", s.org,
            case when s.seq = 1 or a.status <> 'IN_REVIEW' or s.stage::"Stage" = a."currentStage" or s.seq < cur.seq
                 then a."createdAt" + (s.seq - 1) * interval '3 days' end,
            case when s.seq = 1 or a.status <> 'IN_REVIEW' or s.stage::"Stage" = a."currentStage" or s.seq < cur.seq
                 then a."createdAt" + (s.seq - 1) * interval '3 days' + interval '14 days' end,
            case when a.status = 'IN_REVIEW' and s.seq >= cur.seq then null
                 when a.status = 'REJECTED' and s.seq = 2 then 'REJECT'
                 when a.status = 'REJECTED' and s.seq > 2 then null
                 when a.status = 'WITHDRAWN' and s.seq > 1 then null
                 else 'APPROVE' end::"Decision",
            '基准审核人',
            case when (a.status = 'IN_REVIEW' and s.seq >= cur.seq) or (a.status = 'REJECTED' and s.seq > 2)
                      or (a.status = 'WITHDRAWN' and s.seq > 1) then null
                 else a."createdAt" + (s.seq - 1) * interval '3 days'
                      + make_interval(mins => (power(2, (a.id * 13 + s.seq * 7) % 14) + (a.id * 17 + s.seq) % 60)::int) end
       from "Application" a
       join lateral (
         select * from (values
           (1, case when a.type = 'TRANSFER' then 'RECEIVING_SCHOOL' else 'SCHOOL' end,
               coalesce(a."toSchoolCode", a."fromSchoolCode")),
           (2, case when a.type = 'TRANSFER' then 'RECEIVING_COUNTY' else 'COUNTY' end,
               left(coalesce(a."toSchoolCode", a."fromSchoolCode"), 6)),
           (3, 'SENDING_SCHOOL', a."fromSchoolCode"),
           (4, 'SENDING_COUNTY', left(a."fromSchoolCode", 6))) v(seq, stage, org)
         where a.type = 'TRANSFER' or v.seq <= 2) s on true
       left join lateral (select case a."currentStage" when 'COUNTY' then 2 when 'RECEIVING_COUNTY' then 2
                                   when 'SENDING_SCHOOL' then 3 when 'SENDING_COUNTY' then 4 else 1 end as seq) cur on true
      where a.id between ${from} and ${to}`,
  );
}

/**
 * What one 待办 request costs, less at the mercy of a busy machine than its latency: the statements it sends and
 * their execution time in Postgres (pg_stat_statements, when the server loads it), the app process's CPU per request
 * (every thread of it, from /proc), and this process's as the client.
 */
export async function tasksCost(url: string, base: string, officer: string, appPid: number, n = 200) {
  const stats = await query(url, 'create extension if not exists pg_stat_statements')
    .then(() => query(url, 'select pg_stat_statements_reset()'))
    .then(() => true)
    .catch(() => false);
  const cpu0 = process.cpuUsage();
  const app0 = cpuSeconds(appPid);
  for (let i = 0; i < n; i++) {
    await request(base, 'GET', `/api/tasks?limit=${TASKS_PAGE}`, { token: officer });
  }
  const cpuMsPerRequest = ((cpuSeconds(appPid) - app0) * 1000) / n;
  const client = process.cpuUsage(cpu0);
  const clientCpuMsPerRequest = (client.user + client.system) / 1000 / n;
  if (!stats) return { cpuMsPerRequest, clientCpuMsPerRequest, statementsPerRequest: null, postgresMsPerRequest: null };
  const [row] = await query<{ calls: string; ms: string }>(
    url,
    `select coalesce(sum(calls), 0)::text as calls, coalesce(sum(total_exec_time), 0)::text as ms
       from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not ilike '%pg_stat_statements%'`,
  );
  return {
    cpuMsPerRequest,
    clientCpuMsPerRequest,
    statementsPerRequest: Number(row.calls) / n,
    postgresMsPerRequest: Number(row.ms) / n,
  };
}

/** The Temporal server's and the postmaster's pids (null when they are the caller's own servers). */
type ServerPids = { temporal: number | null; postgres: number | null };

/**
 * What else ran while 待办 was timed: the machine's busy share of its cores, and the CPU seconds the Temporal server
 * and Postgres (every backend, this app's queries included) used meanwhile. The requests are sequential, so a tail
 * the busy share explains is the machine's, not the query's.
 */
function backgroundMeter(pids: ServerPids) {
  const read = () => ({
    machine: machineCpu(),
    temporal: pids.temporal === null ? NaN : cpuSeconds(pids.temporal),
    postgres: pids.postgres === null ? NaN : treeCpuSeconds([pids.postgres]),
  });
  const a = read();
  return () => {
    const b = read();
    return {
      machineBusyShare: (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total),
      temporalCpuSeconds: b.temporal - a.temporal,
      postgresCpuSeconds: b.postgres - a.postgres,
    };
  };
}

export async function timeReads(base: string, officer: string, admin: string, pids: ServerPids) {
  const get = async (p: string, token: string) => {
    const t = performance.now();
    const r = await request(base, 'GET', p, { token });
    if (r.status !== 200) throw new Error(`GET ${p} → ${r.status} ${r.body.toString()}`);
    return performance.now() - t;
  };
  const page = `/api/tasks?limit=${TASKS_PAGE}`;
  for (let i = 0; i < 30; i++) await get(page, officer);
  const tasks: number[] = [];
  const background = backgroundMeter(pids);
  for (let i = 0; i < 400; i++) tasks.push(await get(page, officer));
  const whileTimed = background();
  for (let i = 0; i < 3; i++) await get('/api/admin/stats', admin);
  const stats: number[] = [];
  for (let i = 0; i < 60; i++) stats.push(await get('/api/admin/stats', admin));
  return {
    tasksP50: pct(tasks, 50),
    tasksP99: pct(tasks, 99),
    statsP50: pct(stats, 50),
    statsP99: pct(stats, 99),
    whileTasksTimed: whileTimed,
  };
}

export async function measureReads(o: {
  adminUrl: string;
  urlFor: (db: string) => string;
  temporalAddress: string;
  pids: ServerPids;
  work: string;
  total: number;
  log: (m: string) => void;
}) {
  await createDatabase(o.adminUrl, 'bench_reads');
  const url = o.urlFor('bench_reads');
  await migrateDatabase(url);
  const pupils = await seedBase(url, o.total);
  const prisma = createPrisma(url, 10);
  // The API as `npm start` runs it (scripts/start.sh: its own process, with its memory settings), on this database,
  // with a task queue of its own; the bench's process is only the client.
  const port = await freePort();
  const app = await spawnStart(
    {
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: o.temporalAddress,
      TEMPORAL_TASK_QUEUE: 'bench-reads',
      PORT: String(port),
      DATA_DIR: path.join(o.work, 'reads-app'),
      ACCESS_TOKEN_TTL: '4h',
      LOGIN_IP_LIMIT: '100000',
      NODE_ENV: 'development',
    },
    path.join(o.work, 'reads-app.log'),
    (l) => l.includes('is running'),
  );
  const base = `http://127.0.0.1:${port}`;
  const login = async (username: string) =>
    (await json<{ token: string }>(base, 'POST', '/api/auth/login', { body: { username, password: 'demo-password' } }))
      .token;
  const seed = async (from: number, to: number) => {
    const t0 = Date.now();
    const chunk = 100_000;
    for (let a = from; a <= to; a += chunk) {
      const b = Math.min(to, a + chunk - 1);
      await seedCases(url, a, b, o.total, pupils);
      await seedSteps(url, a, b);
    }
    await rebuildDerivedReadModel(prisma);
    // As a database in service is: vacuumed (the visibility map set, hint bits written) and analysed. After a bulk
    // load of millions of rows autovacuum would otherwise do that work while 待办 is being timed.
    await query(url, 'vacuum (analyze)');
    o.log(`read model: cases ${from}..${to} seeded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  };
  try {
    const small = Math.min(10_000, o.total);
    await seed(1, small);
    const officer = await login('big.edu');
    const admin = await login('admin');
    const atSmall = {
      ...(await timeReads(base, officer, admin, o.pids)),
      tasksCost: await tasksCost(url, base, officer, app.pid),
    };
    o.log(`reads at ${small}: ${JSON.stringify(atSmall)}`);
    if (o.total > small) await seed(small + 1, o.total);
    const atLarge = {
      ...(await timeReads(base, officer, admin, o.pids)),
      tasksCost: await tasksCost(url, base, officer, app.pid),
    };
    o.log(`reads at ${o.total}: ${JSON.stringify(atLarge)}`);
    const [{ open }] = await query<{ open: string }>(
      url,
      `select count(*)::text as open from "Application" where "currentOrgCode" = '${BIG_COUNTY}'`,
    );
    o.log(`the big county holds ${open} open cases`);
    return { small: atSmall, large: atLarge, bigCountyOpen: Number(open) };
  } finally {
    await app.stop();
    await prisma.$disconnect();
  }
}
