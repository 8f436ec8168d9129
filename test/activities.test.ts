import type { Actor } from '../domain/types';
import { createApplication } from '../api/services/applications';
import type { AuthUser } from '../api/auth';
import { createTestDatabase, SOON, ZHANG, type TestDatabase, testActivities } from './support/stack';

// Activities run against a real Postgres; Temporal may run any of them more than once.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
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
  for (const o of outcomes) expect(o).toEqual({ status: 'APPROVED', currentStage: null, currentOrgCode: null });

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
