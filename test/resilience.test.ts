import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { reconcileWorkflows } from '../api/services/applications';
import { createActivities } from '../activities';
import { startDevServer, type DevServer } from '../infra/temporal';
import { freePort } from './support/ports';
import { kill, spawnWorker } from './support/processes';
import { as, logger, runWorker, startStack, uid, ZHANG, type TestStack } from './support/stack';

const file = (stack: TestStack, studentNo: string) =>
  as(stack, 'nj.s1').post('/api/applications', {
    type: 'TRANSFER',
    studentNo,
    reason: '随父母工作调动',
    effectiveDate: '2026-12-01',
  });
const decide = (stack: TestStack, user: string, id: number, stage: string) =>
  as(stack, user).post(`/api/applications/${id}/decisions`, { stage, decision: 'APPROVE' });

/** Retries a request while it answers 503, as a clerk would; any other answer ends the loop. */
async function retryWhileUnavailable(send: () => Promise<{ status: number; body: any }>, attempts = 15) {
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
    expect((await decide(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decide(stack, 'nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(200);

    await kill(worker, 'SIGKILL');
    const whileDown = await decide(stack, 'hhg.s1', id, 'SENDING_SCHOOL');
    expect(whileDown.status).toBe(503);
    expect(whileDown.body.detail).toMatch(/稍后/);
    const row = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
    expect(row.currentStage).toBe('SENDING_SCHOOL');

    worker = await spawnWorker(workerEnv());
    // The clerk retries, as the 503 asks: the same business update id means the decision is taken
    // once, not twice. The new worker gets the case once the dead one's sticky queue times out (~10 s).
    const retried = await retryWhileUnavailable(() => decide(stack, 'hhg.s1', id, 'SENDING_SCHOOL'));
    expect(retried.status).toBe(200);
    expect(retried.body.currentStage).toBe('SENDING_COUNTY');

    await kill(worker, 'SIGKILL');
    worker = await spawnWorker(workerEnv());
    const last = await retryWhileUnavailable(() => decide(stack, 'hhg.edu', id, 'SENDING_COUNTY'));
    expect(last.status).toBe(200);
    expect(last.body.status).toBe('APPROVED');
    expect(last.body.steps.map((s: { decision: string }) => s.decision)).toEqual(['APPROVE', 'APPROVE', 'APPROVE', 'APPROVE']);

    const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    expect(pupil.schoolCode).toBe('5119220001');
    expect(await stack.prisma.studentHistory.count({ where: { studentNo: ZHANG } })).toBe(1);
    expect(await stack.temporal.workflow.getHandle(`application-${id}`).result()).toMatchObject({ status: 'APPROVED' });
  });
});

describe('Temporal down when a clerk submits', () => {
  let stack: TestStack;
  let server: DevServer | undefined;
  let port: number;
  let dbFile: string;
  beforeAll(async () => {
    port = await freePort();
    dbFile = path.join(process.env.TEST_WORK_DIR!, `temporal-${uid()}.db`);
    // A server of its own with a file store, so it can be stopped and started again with its state.
    server = await startDevServer(process.env.TEMPORAL_CLI_PATH ?? null, { port, dbFile, pragmas: ['synchronous=OFF'] });
    stack = await startStack({ worker: false, temporalAddress: server.address, updateTimeoutMs: 3000 });
  });
  afterAll(async () => {
    await stack?.close();
    await server?.stop();
    fs.rmSync(dbFile, { force: true });
  });

  test('the application is kept, and its workflow starts when Temporal is back', async () => {
    await server!.stop('SIGKILL'); // a crash, not a clean shutdown
    const created = await file(stack, ZHANG);
    expect(created.status).toBe(201);
    const id = created.body.id;
    const row = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
    expect(row.workflowStartedAt).toBeNull();
    expect(row.status).toBe('IN_REVIEW');
    const stuck = await as(stack, 'admin').get('/api/admin/stuck');
    expect(stuck.body.items.find((c: { id: number }) => c.id === id)).toMatchObject({ workflowStarted: false });
    // A decision cannot be taken while Temporal is down: 503, and nothing changes.
    expect((await decide(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(503);
    expect((await as(stack, 'admin').get('/healthz')).status).toBe(503);
    // The reconciler retries harmlessly while Temporal is still down.
    expect(await reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger)).toBe(0);

    server = await startDevServer(process.env.TEMPORAL_CLI_PATH ?? null, { port, dbFile, pragmas: ['synchronous=OFF'] });
    expect(await reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger)).toBe(1);
    expect(await reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger)).toBe(0);
    const started = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
    expect(started.workflowStartedAt).not.toBeNull();

    const worker = await runWorker({
      address: server.address,
      taskQueue: stack.taskQueue,
      activities: createActivities({ prisma: stack.prisma, logger }),
    });
    try {
      const decided = await decide(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
      expect(decided.status).toBe(200);
      expect(decided.body.currentStage).toBe('RECEIVING_COUNTY');
    } finally {
      await worker.stop();
    }
  });
});
