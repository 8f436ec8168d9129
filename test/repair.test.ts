import { cancelUpdate, decideUpdate, Rejection, withdrawUpdate, workflowIdFor } from '../workflows/messages';
import { as, decideAs, fileTransfer, LI, startStack, waitFor, ZHANG, type TestStack } from './support/stack';

// Text that breaks the free-text rule (domain/text.ts) never wedges a case: the workflow refuses it before its state
// changes, and a value that got past the API anyway (straight into the database) shows in the stuck view as a
// failing write with the field named, until an administrator's audited repair lets the case resume.

let stack: TestStack;
beforeAll(async () => {
  // A decision whose write keeps failing answers 503 after this long (the case is not lost: it resumes later).
  stack = await startStack({ updateTimeoutMs: 3_000 });
});
afterAll(async () => {
  await stack?.close();
});

/** 南江县实验小学's clerk as the workflow's Updates name the actor (sent straight to the workflow, past the API). */
const NJ_S1 = { userId: 6, username: 'nj.s1', displayName: 'x', role: 'SCHOOL_CLERK' as const, orgCode: '5119220001' };

test('the workflow itself refuses a NUL or a lone surrogate in a comment, naming the field, and nothing changes', async () => {
  const id = (await fileTransfer(stack, 'nj.s1', ZHANG)).body.id as number;
  const handle = stack.temporal.workflow.getHandle(workflowIdFor(id));
  for (const comment of ['同意\u0000', '同意\ud800', '\u202e意同']) {
    // Straight to the workflow, past the API's own check.
    await expect(
      handle.executeUpdate(decideUpdate, {
        args: [{ stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', comment, actor: NJ_S1 }],
      }),
    ).rejects.toMatchObject({ cause: { type: Rejection.InvalidText, details: [{ path: 'comment' }] } });
  }
  // Through the API: 400 naming the field; the case is where it was.
  const res = await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL', 'APPROVE', '同意\u0000');
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([expect.objectContaining({ path: 'comment' })]);
  const app = await as(stack, 'nj.s1').get(`/api/applications/${id}`);
  expect(app.body).toMatchObject({ status: 'IN_REVIEW', currentStage: 'RECEIVING_SCHOOL' });
  // The case still moves on a clean decision.
  expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).body.currentStage).toBe('RECEIVING_COUNTY');
  await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, { reason: '测试结束' });
}, 60_000);

test('the workflow itself refuses a NUL, a lone surrogate or a bidi override in a withdrawal or cancellation reason', async () => {
  const id = (await fileTransfer(stack, 'nj.s1', LI)).body.id as number;
  await waitFor(async () => (await stack.prisma.application.findUniqueOrThrow({ where: { id } })).workflowStartedAt);
  const handle = stack.temporal.workflow.getHandle(workflowIdFor(id));
  const admin = { userId: 1, username: 'admin', displayName: 'x', role: 'ADMIN' as const, orgCode: null };
  const refusedNamingReason = { cause: { type: Rejection.InvalidText, details: [{ path: 'reason' }] } };
  for (const reason of ['家长改变主意\u0000', '家长改变主意\ud800', '\u202e意主变改长家']) {
    // Straight to the workflow, past the API's own check.
    await expect(handle.executeUpdate(withdrawUpdate, { args: [{ reason, actor: NJ_S1 }] })).rejects.toMatchObject(
      refusedNamingReason,
    );
    await expect(handle.executeUpdate(cancelUpdate, { args: [{ reason, actor: admin }] })).rejects.toMatchObject(
      refusedNamingReason,
    );
  }
  const app = await as(stack, 'nj.s1').get(`/api/applications/${id}`);
  expect(app.body).toMatchObject({ status: 'IN_REVIEW', currentStage: 'RECEIVING_SCHOOL' });
  // The case still closes on a clean reason.
  const withdrawn = await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' });
  expect(withdrawn.body.status).toBe('WITHDRAWN');
}, 60_000);

test('a control character put straight into the database: the write fails visibly, the repair unwedges the case', async () => {
  const pupil = await stack.prisma.student.findFirstOrThrow({
    where: { schoolCode: '5203020002', status: 'ENROLLED' },
    orderBy: { studentNo: 'desc' },
  });
  const id = (await fileTransfer(stack, 'nj.s1', pupil.studentNo)).body.id as number;
  await waitFor(async () => (await stack.prisma.application.findUniqueOrThrow({ where: { id } })).workflowStartedAt);
  await stack.prisma.student.update({ where: { studentNo: pupil.studentNo }, data: { name: `${pupil.name}\u0001` } });

  // The decision is accepted by the workflow, but its write refuses the stored name: the clerk is told to wait.
  const decided = await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
  expect(decided.status).toBe(503);

  const listed = await waitFor(
    async () => {
      const res = await as(stack, 'admin').get('/api/admin/stuck?kind=technical');
      return res.body.items.find((i: { id: number }) => i.id === id) ?? null;
    },
    20_000,
    'the case in the stuck view',
  );
  expect(listed.technical).toBe(true);
  expect(listed.failingActivities[0]).toMatchObject({ activityType: 'recordDecision' });
  expect(listed.failingActivities[0].lastFailure).toContain('student.name');
  expect(listed.failingActivities[0].nextAttemptAt).not.toBeNull();

  // Only an administrator repairs, with a reason.
  expect(
    (await as(stack, 'nj.edu').post(`/api/admin/applications/${id}/repair`, { reason: '去除控制字符' })).status,
  ).toBe(403);
  expect((await as(stack, 'admin').post(`/api/admin/applications/${id}/repair`, { reason: '' })).status).toBe(400);
  const repaired = await as(stack, 'admin').post(`/api/admin/applications/${id}/repair`, {
    reason: '导入时带入控制字符，已去除',
  });
  expect(repaired.status).toBe(200);
  expect(repaired.body).toEqual({ repaired: ['student.name'] });

  // The write's next attempt succeeds: the decision lands, the case moves on and leaves the stuck view.
  const moved = await waitFor(
    async () => {
      const res = await as(stack, 'nj.s1').get(`/api/applications/${id}`);
      return res.body.currentStage === 'RECEIVING_COUNTY' ? res.body : null;
    },
    45_000,
    'the case to resume',
  );
  expect(moved.steps[0]).toMatchObject({ decision: 'APPROVE' });
  expect(moved.student.name).toBe(pupil.name);
  await waitFor(async () => (await stack.prisma.activityFailure.count({ where: { applicationId: id } })) === 0, 10_000);
  const stuck = await as(stack, 'admin').get('/api/admin/stuck?kind=technical');
  expect(stuck.body.items.some((i: { id: number }) => i.id === id)).toBe(false);
  const audit = await stack.prisma.auditEvent.findFirstOrThrow({
    where: { applicationId: id, action: 'application.repair' },
  });
  expect(audit.actorName).toBe('系统管理员');
}, 120_000);
