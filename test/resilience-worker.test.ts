import type { Response } from 'supertest';
import type { ChildProcess } from 'node:child_process';
import { kill, spawnWorker } from './support/processes';
import { as, decideAs, fileTransfer, startStack, untilWorkflowAnswers, ZHANG, type TestStack } from './support/stack';

const file = (stack: TestStack, studentNo: string) => fileTransfer(stack, 'nj.s1', studentNo);
const decide = (stack: TestStack, user: string, id: number, stage: string) => decideAs(stack, user, id, stage);

/** Retries a request while it answers 503, as a clerk would; any other answer ends the loop. */
async function retryWhileUnavailable(send: () => Promise<Response>, attempts = 15) {
  let res = await send();
  for (let i = 1; i < attempts && res.status === 503; i++) res = await send();
  return res;
}

describe('a worker killed mid-chain', () => {
  let stack: TestStack;
  let worker: ChildProcess | undefined;
  beforeAll(async () => {
    // Decisions wait at most 3 s for a worker, so the test sees the outage as a 503.
    stack = await startStack({ worker: false, updateTimeoutMs: 3000 });
  });
  afterAll(async () => {
    if (worker) await kill(worker);
    await stack?.close();
  });

  const workerEnv = () => ({
    DATABASE_URL: stack.db.url,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    TASK_QUEUE: stack.taskQueue,
  });

  test('loses nothing: after a restart the case continues and the pupil moves exactly once', async () => {
    worker = await spawnWorker(workerEnv());
    const created = await file(stack, ZHANG);
    expect(created.status).toBe(201);
    const id = created.body.id;
    await untilWorkflowAnswers(stack, id);
    expect((await decide(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decide(stack, 'nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(200);

    await kill(worker, 'SIGKILL');
    const whileDown = await decide(stack, 'hhg.s1', id, 'SENDING_SCHOOL');
    expect(whileDown.status).toBe(503);
    expect(whileDown.body.detail).toMatch(/稍后/);
    const row = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
    expect(row.currentStage).toBe('SENDING_SCHOOL');

    worker = await spawnWorker(workerEnv());
    // The clerk retries, as the 503 asks. The decision sent during the outage was admitted by Temporal
    // and may be applied first, once the new worker gets the case (after the dead one's sticky queue
    // times out, ~10 s): then the retry finds the stage passed (409). Either way it is taken once.
    const retried = await retryWhileUnavailable(() => decide(stack, 'hhg.s1', id, 'SENDING_SCHOOL'));
    expect([200, 409]).toContain(retried.status);
    const steps = await stack.prisma.applicationStep.findMany({
      where: { applicationId: id },
      orderBy: { seq: 'asc' },
    });
    expect(steps.map((s) => s.decision)).toEqual(['APPROVE', 'APPROVE', 'APPROVE', null]);
    expect((await stack.prisma.application.findUniqueOrThrow({ where: { id } })).currentStage).toBe('SENDING_COUNTY');

    await kill(worker, 'SIGKILL');
    worker = await spawnWorker(workerEnv());
    const last = await retryWhileUnavailable(() => decide(stack, 'hhg.edu', id, 'SENDING_COUNTY'));
    expect([200, 409]).toContain(last.status); // 409: an earlier attempt, admitted meanwhile, closed the case
    const done = await as(stack, 'hhg.edu').get(`/api/applications/${id}`);
    expect(done.body.status).toBe('APPROVED');
    expect(done.body.steps.map((s: { decision: string }) => s.decision)).toEqual([
      'APPROVE',
      'APPROVE',
      'APPROVE',
      'APPROVE',
    ]);

    const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    expect(pupil.schoolCode).toBe('5119220001');
    expect(await stack.prisma.studentHistory.count({ where: { studentNo: ZHANG } })).toBe(1);
    expect(await stack.temporal.workflow.getHandle(`application-${id}`).result()).toMatchObject({ status: 'APPROVED' });
  });
});
