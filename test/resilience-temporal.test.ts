import fs from 'node:fs';
import path from 'node:path';
import { reconcileWorkflows } from '../api/services/applications';
import { startDevServer, type DevServer } from '../infra/temporal';
import { freePort } from './support/ports';
import {
  as,
  logger,
  runWorker,
  startStack,
  uid,
  untilWorkflowAnswers,
  ZHANG,
  type TestStack,
  fileTransfer,
  decideAs,
  testActivities,
} from './support/stack';

const file = (stack: TestStack, studentNo: string) => fileTransfer(stack, 'nj.s1', studentNo);
const decide = (stack: TestStack, user: string, id: number, stage: string) => decideAs(stack, user, id, stage);

describe('Temporal down when a clerk submits', () => {
  let stack: TestStack;
  let server: DevServer | undefined;
  let port: number;
  let dbFile: string;
  beforeAll(async () => {
    port = await freePort();
    dbFile = path.join(process.env.TEST_WORK_DIR!, `temporal-${uid()}.db`);
    // A server of its own with a file store, so it can be stopped and started again with its state.
    server = await startDevServer(process.env.TEMPORAL_CLI_PATH ?? null, {
      port,
      dbFile,
      pragmas: ['synchronous=OFF'],
    });
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
    expect(stuck.status).toBe(200);
    // The stuck view reads Postgres only (the worker records failures there): it works with Temporal down.
    expect(stuck.body.technicalUnavailable).toBe(false);
    expect(stuck.body.items.find((c: { id: number }) => c.id === id)).toMatchObject({ workflowStarted: false });
    // A decision cannot be taken while Temporal is down: 503, and nothing changes.
    const refused = await decide(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/); // every 503 says when to retry
    // Not ready (503 problem+json naming Temporal), but alive: an orchestrator must not restart the API for this.
    const ready = await as(stack, 'admin').get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(ready.headers['retry-after']).toBeDefined();
    expect(ready.body).toMatchObject({ status: 503, db: 'ok', temporal: 'unreachable' });
    expect((await as(stack, 'admin').get('/healthz')).status).toBe(200);
    // The reconciler retries harmlessly while Temporal is still down.
    expect(await reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger, 0)).toBe(0);

    server = await startDevServer(process.env.TEMPORAL_CLI_PATH ?? null, {
      port,
      dbFile,
      pragmas: ['synchronous=OFF'],
    });
    expect(await reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger, 0)).toBe(1);
    expect(await reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger, 0)).toBe(0);
    const started = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
    expect(started.workflowStartedAt).not.toBeNull();

    const worker = await runWorker({
      address: server.address,
      taskQueue: stack.taskQueue,
      activities: testActivities(stack.prisma),
    });
    try {
      await untilWorkflowAnswers(stack, id);
      const decided = await decide(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
      expect(decided.status).toBe(200);
      expect(decided.body.currentStage).toBe('RECEIVING_COUNTY');
    } finally {
      await worker.stop();
    }
  });
});

describe('workflow ids', () => {
  test('a case never attaches to another row’s workflow with the same id (a rebuilt database)', async () => {
    const stack = await startStack();
    try {
      const first = await file(stack, ZHANG);
      expect(first.status).toBe(201);
      // Rebuild: the row is gone and its id is reused by a new case, while Temporal keeps the old run.
      await stack.prisma.applicationStep.deleteMany();
      await stack.prisma.application.deleteMany();
      await stack.prisma.$executeRawUnsafe(`alter sequence "Application_id_seq" restart with ${first.body.id}`);
      const second = await file(stack, ZHANG);
      expect(second.status).toBe(201);
      expect(second.body.id).toBe(first.body.id);
      const row = await stack.prisma.application.findUniqueOrThrow({ where: { id: second.body.id } });
      expect(row.workflowStartedAt).toBeNull();
      await expect(reconcileWorkflows(stack.prisma, stack.temporal, stack.taskQueue, logger, 0)).resolves.toBe(0);
      // A decision is refused rather than sent to the old run, and the clerk is told whom to call.
      const refused = await decide(stack, 'nj.s1', second.body.id, 'RECEIVING_SCHOOL');
      expect(refused.status).toBe(503);
      expect(refused.body.detail).toMatch(/联系管理员/);
    } finally {
      await stack.close();
    }
  });
});
