import { verifyAuditChain } from '../infra/audit';
import { planDemoHistory } from '../infra/demo-history';
import { demoPupils, FIXED_PUPILS } from '../infra/demo-data';
import { rebuildDerivedReadModel } from '../infra/read-model';
import { seedDemoData } from '../infra/seed';
import { shanghaiDate } from '../domain/calendar';
import { as, decideAs, fileTransfer, startStack, ZHANG, ZHAO, type TestStack } from './support/stack';

// The demo's past (infra/demo-history.ts), loaded as `npm run seed` loads it (reset, then the demo data with its
// history) into this file's database: consistent with the pupils, the statistics roll-up and the audit chain, and
// giving the demo cases predictions from the organisations' own history for some holders and fallbacks for others.
let stack: TestStack;
let loaded: Awaited<ReturnType<typeof seedDemoData>>;
beforeAll(async () => {
  stack = await startStack();
  // Before any login: the reset replaces the users.
  loaded = await seedDemoData(stack.prisma, { reset: true, history: true, pupilsPerSchool: 20 });
});
afterAll(async () => {
  await stack?.close();
});

const rollup = () =>
  stack.prisma.$queryRaw<{ stage: string; orgCode: string; open: number; overdue: number; decided: number }[]>`
    select stage::text as stage, "orgCode", open, overdue, decided, histogram from "StageRollup"
     order by stage, "orgCode"`;

describe('the demo history', () => {
  test('about fifty cases completed in the nine months before today, every stage decided before today', async () => {
    expect(loaded.history).toMatchObject({ cases: 50 });
    const today = shanghaiDate(Date.now());
    const cases = await stack.prisma.application.findMany({ include: { steps: true } });
    expect(cases).toHaveLength(50);
    expect(new Set(cases.map((c) => c.status))).toEqual(new Set(['APPROVED', 'REJECTED']));
    for (const c of cases) {
      expect(c.workflowClosedAt).not.toBeNull();
      expect(c.currentStage).toBeNull();
      for (const s of c.steps) {
        if (!s.decidedAt) continue;
        expect(shanghaiDate(s.decidedAt.getTime()) < today).toBe(true);
        expect(s.decidedAt.getTime()).toBeGreaterThan(s.openedAt!.getTime());
        expect(Date.now() - s.openedAt!.getTime()).toBeLessThan(300 * 86_400_000);
      }
    }
    // Nothing waits: no 待办, nothing stuck.
    expect((await as(stack, 'hhg.edu').get('/api/tasks')).body.items).toEqual([]);
    const stuck = await as(stack, 'admin').get('/api/admin/stuck');
    expect(stuck.status).toBe(200);
    expect(stuck.body.items).toEqual([]);
  });

  test('generated with a fixed seed: the same past for the same day', () => {
    const pupils = () =>
      demoPupils(20).map((p) => ({
        studentNo: p.studentNo,
        schoolCode: p.schoolCode,
        status: p.status,
        grade: p.grade,
      }));
    const today = shanghaiDate(Date.now());
    expect(JSON.stringify(planDemoHistory(pupils(), today))).toBe(JSON.stringify(planDemoHistory(pupils(), today)));
  });

  test('the pupils are as their history lines leave them; the fixed pupils have none', async () => {
    const lines = await stack.prisma.studentHistory.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    expect(lines).toHaveLength(loaded.history!.historyLines);
    const fixed = FIXED_PUPILS.map((p) => `G${p.idNumber}`);
    expect(lines.filter((l) => fixed.includes(l.studentNo))).toEqual([]);
    const byPupil = new Map<string, typeof lines>();
    for (const l of lines) byPupil.set(l.studentNo, [...(byPupil.get(l.studentNo) ?? []), l]);
    for (const [studentNo, own] of byPupil) {
      const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo } });
      for (let i = 1; i < own.length; i += 1) {
        expect([own[i].fromSchoolCode, own[i].fromStatus, own[i].fromGrade]).toEqual([
          own[i - 1].toSchoolCode,
          own[i - 1].toStatus,
          own[i - 1].toGrade,
        ]);
      }
      const last = own[own.length - 1];
      expect([pupil.schoolCode, pupil.status, pupil.grade]).toEqual([last.toSchoolCode, last.toStatus, last.toGrade]);
    }
    // Approved cases have exactly one line, refused ones none.
    const approved = await stack.prisma.application.count({ where: { status: 'APPROVED' } });
    expect(lines.filter((l) => l.applicationId !== null)).toHaveLength(approved);
  });

  test('the statistics roll-up is what a recount gives, before and after real cases move it; the audit chain holds', async () => {
    const seeded = await rollup();
    expect(seeded.reduce((n, r) => n + r.decided, 0)).toBe(loaded.history!.stages);
    const stats = await as(stack, 'admin').get('/api/admin/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.byStage.reduce((n: number, r: { decided: number }) => n + r.decided, 0)).toBe(
      loaded.history!.stages,
    );
    // A transfer through two stages (the activities keep the roll-up), then the roll-up recounted from the cases.
    const filed = await fileTransfer(stack, 'nj.s1', ZHANG);
    expect(filed.status).toBe(201);
    expect((await decideAs(stack, 'nj.s1', filed.body.id, 'RECEIVING_SCHOOL')).status).toBe(200);
    const kept = await rollup();
    await rebuildDerivedReadModel(stack.prisma);
    expect(await rollup()).toEqual(kept);

    const chain = await verifyAuditChain(stack.prisma);
    expect(chain.ok).toBe(true);
    const entry = await stack.prisma.auditEvent.findFirstOrThrow({ where: { action: 'system.reseed' } });
    expect(entry.details).toMatchObject({ history: { cases: 50, stages: loaded.history!.stages } });
  });

  test('predictions of the demo cases: own history for some holders, the county’s or the prior for others', async () => {
    // The README walkthrough's transfer (filed in the test above): 南江县 is new to the system, 红花岗区 is not.
    const open = await stack.prisma.application.findFirstOrThrow({ where: { studentNo: ZHANG, status: 'IN_REVIEW' } });
    const transfer = await as(stack, 'nj.s1').get(`/api/applications/${open.id}`);
    expect(
      transfer.body.prediction.stages.map((s: { orgCode: string; level: string }) => [s.orgCode, s.level]),
    ).toEqual([
      ['511922', 'PRIOR'],
      ['5203020001', 'ORG'],
      ['520302', 'ORG'],
    ]);
    // 赵磊 (休学 at 红花岗区第二小学) comes back: the school borrows its county's durations, the bureau has its own.
    const resume = await as(stack, 'hhg.s2').post('/api/applications', {
      type: 'RESUME',
      studentNo: ZHAO,
      reason: '病愈返校',
      effectiveDate: shanghaiDate(Date.now()),
    });
    expect(resume.status).toBe(201);
    const shown = await as(stack, 'hhg.s2').get(`/api/applications/${resume.body.id}`);
    expect(shown.body.prediction).toMatchObject({
      level: 'COUNTY',
      stages: [
        { orgCode: '5203020002', level: 'COUNTY', basis: expect.any(Number) },
        { orgCode: '520302', level: 'ORG', basis: expect.any(Number) },
      ],
    });
    expect(shown.body.prediction.stages[1].basis).toBeGreaterThanOrEqual(20);
    // The walkthrough's transfer had its first stage at 南江县实验小学, which borrows its county's too.
    const level = await stack.prisma.applicationStep.count({
      where: { orgCode: '5119220001', decidedAt: { not: null } },
    });
    expect(level).toBeLessThan(20);
  });

  test('the README walkthrough still holds: 张小明 is transferred with one line in his history', async () => {
    const open = await stack.prisma.application.findFirstOrThrow({ where: { studentNo: ZHANG, status: 'IN_REVIEW' } });
    for (const [user, stage] of [
      ['nj.edu', 'RECEIVING_COUNTY'],
      ['hhg.s1', 'SENDING_SCHOOL'],
      ['hhg.edu', 'SENDING_COUNTY'],
    ] as const) {
      expect((await decideAs(stack, user, open.id, stage)).status).toBe(200);
    }
    const record = await as(stack, 'nj.s1').get(`/api/students/${ZHANG}`);
    expect(record.body.schoolName).toBe('南江县实验小学');
    expect(record.body.history).toHaveLength(1);
  });
});
