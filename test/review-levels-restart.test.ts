// Issue 14 item 2: "the chain is fixed when a case is filed: changing the settings never alters cases in flight".
// The API reads the review levels once, at start (REVIEW_LEVELS_FILE); the worker reads none (the chain is the
// workflow's input). Here both are restarted with another settings file while a case is half way through its eight
// stages: the case keeps its eight, in Postgres and in its workflow, and is decided to the end; a case filed after the
// restart gets the chain of the new settings. Real stack: the API as `npm start` runs it (startApi on a real port),
// a real worker, Postgres, the Temporal dev server. (test/replay.test.ts replays recorded eight-stage histories.)
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../config';
import { startApi, type RunningApi } from '../api/server';
import {
  LI,
  EIGHT_STAGES,
  logger,
  runWorker,
  SOON,
  startStack,
  testActivities,
  ZHANG,
  type RunningWorker,
  type TestStack,
} from './support/stack';

const SETTINGS = path.resolve(__dirname, '..', 'settings');
const EXAMPLE = path.join(SETTINGS, 'review-levels.example.json');
const JWT_SECRET = 'review-levels-restart-test-secret-0123456789';

let stack: TestStack;
let api: RunningApi | null = null;
let worker: RunningWorker | null = null;
beforeAll(async () => {
  // The database and Temporal of a test stack; its worker and API are the ones this test starts and restarts.
  stack = await startStack({ worker: false });
});
afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await stack?.close();
});

/** Starts the worker and the API as production does, the API reading its review levels from `file`. */
async function start(file: string) {
  worker = await runWorker({
    address: process.env.TEST_TEMPORAL_ADDRESS!,
    taskQueue: stack.taskQueue,
    activities: testActivities(stack.prisma),
    prisma: stack.prisma,
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: path.join(process.env.TEST_WORK_DIR!, `restart-${stack.taskQueue}`),
    TEMPORAL_TASK_QUEUE: stack.taskQueue,
    JWT_SECRET,
    RECONCILE_INTERVAL_MS: '600000',
    LOG_LEVEL: 'silent',
    REVIEW_LEVELS_FILE: file,
  });
  api = await startApi({ config, prisma: stack.prisma, temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!, logger });
}

async function stop() {
  await api?.close();
  await worker?.stop();
  api = null;
  worker = null;
}

const http = () => request(`http://127.0.0.1:${api!.port}`);
const tokens = new Map<string, string>();
async function token(user: string) {
  if (!tokens.has(user)) {
    const res = await http().post('/api/auth/login').send({ username: user, password: 'demo-password' });
    expect([user, res.status]).toEqual([user, 200]);
    tokens.set(user, res.body.token);
  }
  return tokens.get(user)!;
}
const file = async (studentNo: string) =>
  http()
    .post('/api/applications')
    .set('Authorization', `Bearer ${await token('nj.s1')}`)
    .send({ type: 'TRANSFER', studentNo, reason: '随父母工作调动', effectiveDate: SOON });
const decide = async (id: number, stage: string, user: string) =>
  http()
    .post(`/api/applications/${id}/decisions`)
    .set('Authorization', `Bearer ${await token(user)}`)
    .send({ stage, decision: 'APPROVE' });
const stagesOf = (body: { steps: { stage: string }[] }) => body.steps.map((s) => s.stage);

/** The chain the case's workflow was started with: its input, in the first event of its history. */
async function workflowChain(id: number): Promise<string[]> {
  const history = await stack.temporal.workflow.getHandle(`application-${id}`).fetchHistory();
  const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  const input = JSON.parse(Buffer.from(payload.data!).toString('utf8'));
  return input.chain.map((c: { stage: string }) => c.stage);
}

test('restarted with other review levels, the API and worker leave a case in flight its chain; a new case gets the new one', async () => {
  await start(EXAMPLE);
  const filed = await file(ZHANG);
  expect(filed.status).toBe(201);
  const id = filed.body.id as number;
  expect(stagesOf(filed.body)).toEqual(EIGHT_STAGES.map(([s]) => s));
  for (const [stage, user] of EIGHT_STAGES.slice(0, 3)) {
    expect([stage, (await decide(id, stage, user)).status]).toEqual([stage, 200]);
  }
  await stop();

  // New settings: only 四川 adds a level, its province's, to the receiving side of a transfer between provinces.
  const other = path.join(process.env.TEST_WORK_DIR!, `review-levels-${stack.taskQueue}.json`);
  fs.writeFileSync(other, JSON.stringify({ provinces: { '51': { TRANSFER: { twoProvinces: ['PROVINCE'] } } } }));
  // A bad file stops the API at start, naming the entry (the settings are read there and nowhere else).
  const bad = path.join(process.env.TEST_WORK_DIR!, `review-levels-bad-${stack.taskQueue}.json`);
  fs.writeFileSync(bad, JSON.stringify({ provinces: { '52': { TRANSFER: { twoProvinces: ['COUNTY'] } } } }));
  await expect(start(bad)).rejects.toThrow(/provinces\.52\.TRANSFER\.twoProvinces\.0/);
  await worker?.stop();
  worker = null;
  await start(other);

  // The case in flight: still eight stages, at the one it had reached, in Postgres and in its workflow.
  const read = await http()
    .get(`/api/applications/${id}`)
    .set('Authorization', `Bearer ${await token('sc.edu')}`);
  expect(read.status).toBe(200);
  expect(stagesOf(read.body)).toEqual(EIGHT_STAGES.map(([s]) => s));
  expect(read.body.currentStage).toBe('RECEIVING_PROVINCE');
  expect(await workflowChain(id)).toEqual(EIGHT_STAGES.map(([s]) => s));
  // A case filed now: the new settings' chain (five stages), in Postgres and in its workflow.
  const later = await file(LI);
  expect(later.status).toBe(201);
  const fiveStages = ['RECEIVING_SCHOOL', 'RECEIVING_COUNTY', 'RECEIVING_PROVINCE', 'SENDING_SCHOOL', 'SENDING_COUNTY'];
  expect(stagesOf(later.body)).toEqual(fiveStages);
  expect(await workflowChain(later.body.id)).toEqual(fiveStages);

  // Both are decided to the end, each by its own chain: the 地市 bureaus act on the first and not on the second.
  for (const [stage, user] of EIGHT_STAGES.slice(3)) {
    const res = await decide(id, stage, user);
    expect([stage, res.status]).toEqual([stage, 200]);
  }
  const approved = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
  expect(approved.status).toBe('APPROVED');
  expect((await stack.prisma.studentHistory.findUniqueOrThrow({ where: { applicationId: id } })).approvedBy).toEqual([
    '南江县实验小学',
    '南江县教育局',
    '巴中市教育局',
    '四川省教育厅',
    '遵义市红花岗区第一小学',
    '红花岗区教育局',
    '遵义市教育局',
    '贵州省教育厅',
  ]);
  const users = { RECEIVING_SCHOOL: 'nj.s1', RECEIVING_COUNTY: 'nj.edu', RECEIVING_PROVINCE: 'sc.edu' } as const;
  for (const stage of fiveStages) {
    const user = users[stage as keyof typeof users] ?? (stage === 'SENDING_SCHOOL' ? 'hhg.s1' : 'hhg.edu');
    expect([stage, (await decide(later.body.id, stage, user)).status]).toEqual([stage, 200]);
  }
  expect((await stack.prisma.application.findUniqueOrThrow({ where: { id: later.body.id } })).status).toBe('APPROVED');
  expect(
    (await stack.prisma.studentHistory.findUniqueOrThrow({ where: { applicationId: later.body.id } })).approvedBy,
  ).toEqual(['南江县实验小学', '南江县教育局', '四川省教育厅', '遵义市红花岗区第一小学', '红花岗区教育局']);
}, 90_000);
