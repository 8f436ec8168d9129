// The workflow's writes run on node-postgres directly (infra/sql.ts) beside Prisma, on the same pool: what they write
// must read back the same through either, the audit chain they extend must verify, and a transaction that hangs
// must end and give its locks back.
import { applicationInclude, applicationRowsById } from '../api/services/applications';
import { appendAudit, appendAudits, verifyAuditChain } from '../infra/audit';
import { applyRollup } from '../infra/rollup';
import { poolOf, transaction, TransactionTimeoutError } from '../infra/sql';
import { createPrisma } from '../infra/db';
import { createTestDatabase, type TestDatabase } from './support/stack';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

test('timestamps and dates are UTC both ways, whatever the process time zone', async () => {
  const before = process.env.TZ;
  process.env.TZ = 'Asia/Shanghai';
  try {
    const at = new Date('2026-12-01T23:30:00.123Z'); // already 2 December in Shanghai
    const seq = await transaction(poolOf(db.prisma), async (tx) => {
      await appendAudit(tx, { actor: null, action: 'test.utc', details: { at } }, at);
      const [row] = await tx.$queryRaw<{ at: Date; day: Date }[]>`
        select at, at::date as day from "AuditEvent" where action = 'test.utc'`;
      expect(row.at.toISOString()).toBe(at.toISOString());
      expect(row.day.toISOString()).toBe('2026-12-01T00:00:00.000Z');
      return 1;
    });
    expect(seq).toBe(1);
    const viaPrisma = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'test.utc' } });
    expect(viaPrisma.at.toISOString()).toBe('2026-12-01T23:30:00.123Z');
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});

test('concurrent appends through pg and Prisma form one chain that verifies', async () => {
  const pool = poolOf(db.prisma);
  await Promise.all([
    ...Array.from({ length: 12 }, (_, i) =>
      transaction(pool, (tx) =>
        appendAudits(tx, [
          { e: { actor: null, action: 'test.concurrent', details: { i, n: 1 } } },
          { e: { actor: null, action: 'test.concurrent', details: { i, n: 2 } } },
        ]),
      ),
    ),
    ...Array.from({ length: 4 }, (_, i) =>
      db.prisma.$transaction((tx) => appendAudit(tx, { actor: null, action: 'test.concurrent', details: { i } })),
    ),
  ]);
  expect(await db.prisma.auditEvent.count({ where: { action: 'test.concurrent' } })).toBe(28);
  // Two entries of one append are adjacent: nobody else's row between them.
  const rows = await db.prisma.auditEvent.findMany({ where: { action: 'test.concurrent' }, orderBy: { seq: 'asc' } });
  rows.forEach((r, k) => {
    const d = r.details as { i: number; n?: number };
    if (d.n === 1) expect(rows[k + 1].details).toEqual({ i: d.i, n: 2 });
  });
  expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
});

test('a roll-up change to the same row twice in one call adds both; histograms merge', async () => {
  const pool = poolOf(db.prisma);
  const org = 'TEST-ROLLUP';
  await transaction(pool, (tx) =>
    applyRollup(tx, [
      { stage: 'COUNTY', orgCode: org, open: 1 },
      { stage: 'COUNTY', orgCode: org, open: -1, decidedAfterMs: 5 * 60_000 },
      { stage: 'SCHOOL', orgCode: org, open: 1, overdue: 1 },
    ]),
  );
  await transaction(pool, (tx) =>
    applyRollup(tx, [{ stage: 'COUNTY', orgCode: org, decidedAfterMs: 5 * 60_000, overdue: 1 }]),
  );
  const rows = await db.prisma.stageRollup.findMany({ where: { orgCode: org } });
  expect(
    rows
      .map(({ stage, open, overdue, decided, histogram }) => ({ stage, open, overdue, decided, histogram }))
      .sort((a, b) => a.stage.localeCompare(b.stage)),
  ).toEqual([
    { stage: 'COUNTY', open: 0, overdue: 1, decided: 2, histogram: { '5': 2 } },
    { stage: 'SCHOOL', open: 1, overdue: 1, decided: 0, histogram: {} },
  ]);
});

test('a transaction past its time limit fails, is rolled back and gives its row locks back', async () => {
  const pool = poolOf(db.prisma);
  const code = (await db.prisma.organisation.findFirstOrThrow()).code;
  const name = (await db.prisma.organisation.findUniqueOrThrow({ where: { code } })).name;
  const t0 = Date.now();
  await expect(
    transaction(
      pool,
      async (tx) => {
        await tx.$executeRaw`update "Organisation" set name = 'changed' where code = ${code}`;
        await tx.$queryRaw`select pg_sleep(1)`;
      },
      300,
    ),
  ).rejects.toBeInstanceOf(TransactionTimeoutError);
  expect(Date.now() - t0).toBeLessThan(900);
  // Its connection was closed: Postgres ends the transaction once the statement running then returns (as after
  // Prisma's timeout), so the row is free again and the change is gone.
  await transaction(pool, async (tx) => {
    await tx.$executeRaw`update "Organisation" set "email" = "email" where code = ${code}`;
  });
  expect((await db.prisma.organisation.findUniqueOrThrow({ where: { code } })).name).toBe(name);
});

test('case rows read on pg (待办) are what Prisma reads with applicationInclude', async () => {
  const p = db.prisma;
  const pupils = await p.student.findMany({ orderBy: { studentNo: 'asc' }, take: 2 });
  const clerk = await p.user.findFirstOrThrow({ where: { role: 'SCHOOL_CLERK' } });
  const past = await Promise.all(
    pupils.map((s, i) =>
      p.application.create({
        data: {
          type: 'SUSPEND',
          studentNo: s.studentNo,
          fromSchoolCode: s.schoolCode,
          applicantOrgCode: s.schoolCode,
          status: 'APPROVED',
          reason: `病休 ${i}`,
          effectiveDate: new Date('2026-09-01T00:00:00Z'),
          workflowId: `rows-${s.studentNo}`,
          createdById: clerk.id,
          steps: {
            create: [
              { round: 1, seq: 1, stage: 'SCHOOL', orgCode: s.schoolCode, decision: 'APPROVE', decidedAt: new Date() },
            ],
          },
        },
      }),
    ),
  );
  // A reversal of the first (two of them: the latest counts), with details, and a second round of steps.
  const { id: _id, workflowId: _w, publicRef: _r, ...copy } = past[0];
  const reversal = async (n: number) =>
    p.application.create({
      data: {
        ...copy,
        details: { destination: '新加坡', note: '“引号”\n换行' },
        workflowId: `reversal-${past[0].id}-${n}`,
        status: n === 1 ? 'WITHDRAWN' : 'IN_REVIEW',
        reversesId: past[0].id,
        round: 2,
        closedAt: n === 1 ? new Date('2026-11-30T23:59:59.999Z') : null,
      },
    });
  await reversal(1);
  const latest = await reversal(2);
  const firstStep = await p.applicationStep.findFirstOrThrow({ where: { applicationId: past[0].id } });
  for (const round of [1, 2])
    await p.applicationStep.create({
      data: {
        applicationId: latest.id,
        round,
        seq: 1,
        stage: firstStep.stage,
        orgCode: firstStep.orgCode,
        openedAt: new Date('2026-12-01T00:00:00.001Z'),
        dueAt: new Date('2026-12-15T15:59:59.999Z'),
        ...(round === 1 ? { decision: 'RETURN', comment: '请更正', decidedAt: new Date(), actorName: '王' } : {}),
      },
    });
  const ids = [latest.id, ...past.map((a) => a.id), 2_000_000_000];
  const viaPrisma = await p.application.findMany({ where: { id: { in: ids } }, include: applicationInclude });
  const viaPg = await applicationRowsById(p, ids);
  const byId = <T extends { id: number }>(rows: T[]) => [...rows].sort((a, b) => a.id - b.id);
  expect(viaPg.length).toBe(3);
  expect(byId(viaPg)).toEqual(byId(viaPrisma));
  expect(viaPg.find((a) => a.id === past[0].id)!.reversals).toEqual([
    { id: latest.id, status: 'IN_REVIEW', createdAt: latest.createdAt, closedAt: null },
  ]);
  expect(await applicationRowsById(p, [])).toEqual([]);

  // Seen by: the applicant, and an organisation whose stage has been reached — not one whose stage is still ahead.
  const county = await p.organisation.findFirstOrThrow({ where: { kind: 'COUNTY' } });
  const ahead = await p.applicationStep.create({
    data: { applicationId: latest.id, round: 2, seq: 2, stage: 'COUNTY', orgCode: county.code },
  });
  const seen = async (orgs: string[] | null) => (await applicationRowsById(p, [latest.id], orgs)).map((a) => a.id);
  expect(await seen([latest.applicantOrgCode])).toEqual([latest.id]);
  expect(await seen(null)).toEqual([latest.id]);
  expect(await seen([county.code])).toEqual([]);
  expect(await seen([])).toEqual([]);
  await p.applicationStep.update({ where: { id: ahead.id }, data: { openedAt: new Date() } });
  expect(await seen([county.code])).toEqual([latest.id]);
});

test('a connection lost in the middle of a transaction fails that transaction, not the process', async () => {
  // Postgres restarting (or an administrator ending the backend) while a transaction holds its connection between
  // two statements: node-postgres reports it as an 'error' event on the checked-out client, which with no listener
  // is thrown out of the socket's callback — an uncaught exception that ended the worker (or `npm start`'s whole
  // process) in the chaos suite. Jest fails the test on an uncaught exception.
  const pool = poolOf(db.prisma);
  const other = createPrisma(db.url, 1);
  try {
    await expect(
      transaction(pool, async (tx) => {
        const [{ pid }] = await tx.$queryRaw<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await other.$queryRaw`select pg_terminate_backend(${pid}::int)`;
        await new Promise((r) => setTimeout(r, 300)); // the server's FATAL and the socket's end arrive meanwhile
        await tx.$queryRaw`select 1`;
      }),
    ).rejects.toThrow();
    // The broken connection went back to nobody: the next transaction gets a working one.
    const n = await transaction(pool, async (tx) => (await tx.$queryRaw<{ n: number }[]>`select 1 as n`)[0].n);
    expect(n).toBe(1);
  } finally {
    await other.$disconnect();
  }
});

test('an interactive Prisma transaction waits for a busy pool as long as a query does (5 s), not Prisma’s 2 s', async () => {
  // A pool of one connection, held for 3 s by another request: the transaction gets it when it is given back. With
  // Prisma's default maxWait (2 s) it failed P2028, which the API answers 503, under a burst of filings.
  const p = createPrisma(db.url, 1);
  try {
    // (A Prisma query runs when it is awaited or `then`-ed: start it now.)
    const held = p.$executeRaw`select pg_sleep(3)`.then(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const n = await p.$transaction((tx) => tx.organisation.count());
    expect(n).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThan(2_000);
    await held;
  } finally {
    await p.$disconnect();
  }
}, 20_000);
