import type { Actor } from '../domain/types';
import { createApplication } from '../api/services/applications';
import type { AuthUser } from '../api/auth';
import { repairCaseText } from '../api/services/repair';
import {
  aPupilWithoutCases,
  createTestDatabase,
  LI,
  SOON,
  ZHANG,
  ZHAO,
  type TestDatabase,
  testActivities,
} from './support/stack';

// Activities run against a real Postgres; Temporal may run any of them more than once.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  // 赵磊 is 休学 in the demo data: made 在籍 here so he can be transferred.
  await db.prisma.student.update({ where: { studentNo: ZHAO }, data: { status: 'ENROLLED' } });
});
afterAll(async () => {
  await db?.drop();
});

const clerk: AuthUser = {
  userId: 6,
  username: 'nj.s1',
  displayName: '南江实验小学学籍管理员',
  role: 'SCHOOL_CLERK',
  orgCode: '5119220001',
  orgName: '南江县实验小学',
  countyCode: '511922',
};
const actor = (orgCode: string): Actor => ({
  userId: 1,
  username: 'x',
  displayName: 'x',
  role: 'SCHOOL_CLERK',
  orgCode,
});

test('recordDecision is idempotent: the final approval, run three times at once and again later, moves the pupil once', async () => {
  const acts = testActivities(db.prisma);
  const app = await createApplication(db.prisma, clerk, {
    type: 'TRANSFER',
    studentNo: ZHANG,
    reason: '随父母工作调动',
    effectiveDate: SOON,
  });
  const chain = app.steps.map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
  for (let i = 0; i < chain.length - 1; i++) {
    await acts.recordDecision({
      applicationId: app.id,
      round: 1,
      stage: chain[i].stage,
      decision: 'APPROVE',
      comment: null,
      actor: actor(chain[i].orgCode),
      next: chain[i + 1],
      finalStatus: null,
    });
  }
  const final = {
    applicationId: app.id,
    round: 1,
    stage: chain[3].stage,
    decision: 'APPROVE' as const,
    comment: null,
    actor: actor(chain[3].orgCode),
    next: null,
    finalStatus: 'APPROVED' as const,
  };
  const outcomes = await Promise.all([
    acts.recordDecision(final),
    acts.recordDecision(final),
    acts.recordDecision(final),
  ]);
  outcomes.push(await acts.recordDecision(final));
  for (const o of outcomes) expect(o).toMatchObject({ status: 'APPROVED', currentStage: null, currentOrgCode: null });
  // Exactly one of the four runs wrote the decision; the others found it written.
  expect(outcomes.filter((o) => o.written).length).toBe(1);

  expect(await db.prisma.studentHistory.count({ where: { studentNo: ZHANG } })).toBe(1);
  const pupil = await db.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
  expect(pupil.schoolCode).toBe('5119220001');
  const steps = await db.prisma.applicationStep.findMany({ where: { applicationId: app.id }, orderBy: { seq: 'asc' } });
  expect(steps.map((s) => s.decision)).toEqual(['APPROVE', 'APPROVE', 'APPROVE', 'APPROVE']);
  expect(steps.every((s) => s.openedAt !== null)).toBe(true);

  // Closing an already approved case changes nothing.
  const closed = await acts.closeApplication({
    applicationId: app.id,
    status: 'WITHDRAWN',
    reason: 'x',
    actor: actor('5119220001'),
  });
  expect(closed.status).toBe('APPROVED');
});

test('an activity for a case that no longer exists fails with the non-retryable ApplicationMissingError', async () => {
  const acts = testActivities(db.prisma);
  await expect(
    acts.closeApplication({ applicationId: 999_999, status: 'WITHDRAWN', reason: 'x', actor: actor('1') }),
  ).rejects.toMatchObject({ name: 'ApplicationMissingError' });
});

test('a withdrawal committed before a retried approval leaves the case WITHDRAWN, its next stage never opened', async () => {
  const acts = testActivities(db.prisma);
  const app = await createApplication(db.prisma, clerk, {
    type: 'TRANSFER',
    studentNo: LI,
    reason: '随父母工作调动',
    effectiveDate: SOON,
  });
  const chain = app.steps.map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
  // The workflow accepted the approval, but its write was still being retried when the withdrawal committed.
  await acts.closeApplication({
    applicationId: app.id,
    status: 'WITHDRAWN',
    reason: '家长改变主意',
    actor: actor('5119220001'),
  });
  const retried = await acts.recordDecision({
    applicationId: app.id,
    round: 1,
    stage: chain[0].stage,
    decision: 'APPROVE',
    comment: null,
    actor: actor(chain[0].orgCode),
    next: chain[1],
    finalStatus: null,
  });
  expect(retried).toMatchObject({ status: 'WITHDRAWN', currentStage: null, currentOrgCode: null, deadline: null });
  expect(retried.written).toBeUndefined();
  const row = await db.prisma.application.findUniqueOrThrow({
    where: { id: app.id },
    include: { steps: { orderBy: { seq: 'asc' } } },
  });
  expect(row.status).toBe('WITHDRAWN');
  expect(row.steps[0].decision).toBeNull();
  expect(row.steps[1].openedAt).toBeNull();
  // Nothing counted as waiting at the receiving county either.
  const open = await db.prisma.stageRollup.findUnique({
    where: { stage_orgCode: { stage: chain[1].stage, orgCode: chain[1].orgCode } },
  });
  expect(open?.open ?? 0).toBe(0);
});

test('a round-1 approval retried after the case was returned and resubmitted is refused, and round 2 is left as it was', async () => {
  const acts = testActivities(db.prisma);
  const pupil = await aPupilWithoutCases(db.prisma);
  const app = await createApplication(db.prisma, clerk, {
    type: 'TRANSFER',
    studentNo: pupil.studentNo,
    reason: '随父母工作调动',
    effectiveDate: SOON,
  });
  const chain = app.steps.map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
  const decision = (i: number, decision: 'APPROVE' | 'RETURN') => ({
    applicationId: app.id,
    round: 1,
    stage: chain[i].stage,
    decision,
    comment: decision === 'RETURN' ? '请补充转学证明' : null,
    actor: actor(chain[i].orgCode),
    next: decision === 'APPROVE' ? chain[i + 1] : null,
    finalStatus: decision === 'RETURN' ? ('RETURNED' as const) : null,
  });
  await acts.recordDecision(decision(0, 'APPROVE'));
  expect(await acts.recordDecision(decision(1, 'RETURN'))).toMatchObject({ status: 'RETURNED' });
  const resubmitted = await acts.startRound({
    applicationId: app.id,
    round: 2,
    chain,
    corrections: { reason: '随父母工作调动，已补充转学证明' },
    actor: actor('5119220001'),
  });
  expect(resubmitted).toMatchObject({ status: 'IN_REVIEW', currentStage: chain[0].stage });
  const state = async () => ({
    app: await db.prisma.application.findUniqueOrThrow({
      where: { id: app.id },
      include: { steps: { orderBy: [{ round: 'asc' }, { seq: 'asc' }] } },
    }),
    audit: await db.prisma.auditEvent.count({ where: { applicationId: app.id } }),
    mail: await db.prisma.mailOutbox.count(),
    rollups: await db.prisma.stageRollup.findMany({ orderBy: [{ stage: 'asc' }, { orgCode: 'asc' }] }),
  });
  const before = await state();

  // The county's round-1 approval, sent before its return won and retried now: stale, refused.
  const stale = await acts.recordDecision(decision(1, 'APPROVE'));
  expect(stale).toMatchObject({ status: 'IN_REVIEW', currentStage: chain[0].stage, refused: 'StaleStage' });
  expect(stale.written).toBeUndefined();
  // The school's round-1 approval retried: written in round 1 already; round 2's first stage is not decided by it.
  const again = await acts.recordDecision(decision(0, 'APPROVE'));
  expect(again).toMatchObject({ status: 'IN_REVIEW', currentStage: chain[0].stage });
  expect(again.written).toBeUndefined();

  const after = await state();
  expect(after).toEqual(before);
  expect(after.app.round).toBe(2);
  expect(after.app.steps.filter((s) => s.round === 2).map((s) => s.decision)).toEqual([null, null, null, null]);
});

test('stored text that breaks the rule stops the write with the field named, until an administrator repairs it', async () => {
  const acts = testActivities(db.prisma);
  const app = await createApplication(db.prisma, clerk, {
    type: 'TRANSFER',
    studentNo: ZHAO,
    reason: '随父母工作调动',
    effectiveDate: SOON,
  });
  // A name that got past the API (an old import): a BEL character inside it.
  await db.prisma.student.update({ where: { studentNo: ZHAO }, data: { name: '赵\u0007磊' } });
  const chain = app.steps.map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
  const decide = () =>
    acts.recordDecision({
      applicationId: app.id,
      round: 1,
      stage: chain[0].stage,
      decision: 'APPROVE',
      comment: null,
      actor: actor(chain[0].orgCode),
      next: chain[1],
      finalStatus: null,
    });
  await expect(decide()).rejects.toMatchObject({ name: 'DirtyTextError', field: 'student.name' });
  expect(
    (await db.prisma.applicationStep.findFirstOrThrow({ where: { applicationId: app.id, seq: 1 } })).decision,
  ).toBeNull();

  const admin: AuthUser = {
    ...clerk,
    userId: 1,
    username: 'admin',
    displayName: '系统管理员',
    role: 'ADMIN',
    orgCode: null,
  };
  expect(await repairCaseText(db.prisma, admin, app.id, '导入数据含控制字符')).toEqual(['student.name']);
  expect((await db.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHAO } })).name).toBe('赵磊');
  const audit = await db.prisma.auditEvent.findFirstOrThrow({
    where: { applicationId: app.id, action: 'application.repair' },
  });
  expect(audit.details).toEqual({ fields: ['student.name'], reason: '导入数据含控制字符' });

  expect(await decide()).toMatchObject({ status: 'IN_REVIEW', currentStage: chain[1].stage });
  // Nothing left to repair.
  await expect(repairCaseText(db.prisma, admin, app.id, '再修一次')).rejects.toMatchObject({ status: 409 });
});
