// Issue 14 item 2: the review levels above the county (settings/review-levels.example.json) on the generic
// per-stage machinery — 待办, the due date set when a city stage opens, the administrator's stuck view, statistics,
// and escalation of an overdue city stage to its province's bureau (by mail, in the audit trail). Real stack: Temporal
// dev server, Postgres, an SMTP server on loopback; time limits in milliseconds, as in test/deadlines.test.ts.
import path from 'node:path';
import type { Stage } from '../domain/types';
import { DEFAULT_DEADLINE_POLICY } from '../domain/deadlines';
import { loadReviewLevels } from '../infra/review-levels';
import { startSmtp, type Received } from './support/smtp';
import {
  as,
  decideAs,
  fileTransfer,
  LI,
  startStack,
  testMailer,
  waitFor,
  ZHANG,
  type TestStack,
} from './support/stack';

const EXAMPLE = loadReviewLevels(path.resolve(__dirname, '..', 'settings', 'review-levels.example.json'));
// Each stage is due this long after it opens: time enough to pass the first two stages by API, short enough that the
// city stage is overdue and escalated within a few seconds.
const STAGE_DUE_MS = 8000;

const keyOf = (m: Received) => m.headers.get('message-id') ?? '';
const mailsFor = (received: Received[], id: number, part: string) =>
  received.filter((m) => keyOf(m).startsWith(`<app.${id}.`) && keyOf(m).includes(part));

type Measures = { open: number; overdue: number; decided: number };
type Stats = { byStage: (Measures & { stage: Stage })[]; byOrg: (Measures & { org: { code: string } })[] };
const NONE: Measures = { open: 0, overdue: 0, decided: 0 };

let stack: TestStack;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
beforeAll(async () => {
  smtp = await startSmtp();
  stack = await startStack({
    reviewLevels: EXAMPLE,
    mailer: testMailer(smtp.url),
    activities: {
      deadlines: {
        ...DEFAULT_DEADLINE_POLICY,
        stageDueMs: STAGE_DUE_MS,
        reminderIntervalMs: 2000,
        escalateAfterMs: 2000,
      },
    },
  });
  // Log in beforehand, so that the stages before the city's are decided well within their time limit.
  for (const user of ['nj.s1', 'nj.edu', 'bz.edu', 'sc.edu', 'hhg.s1', 'hhg.edu', 'zy.edu', 'gz.edu', 'admin']) {
    await stack.login(user);
  }
});
afterAll(async () => {
  await stack?.close();
  await smtp?.close();
});

const stats = async () => {
  const res = await as(stack, 'admin').get('/api/admin/stats');
  expect(res.status).toBe(200);
  const body = res.body as Stats;
  return {
    stage: (stage: Stage) => ({ ...NONE, ...body.byStage.find((s) => s.stage === stage) }),
    org: (code: string) => ({ ...NONE, ...body.byOrg.find((o) => o.org.code === code) }),
  };
};
const taskIds = async (user: string) => {
  const res = await as(stack, user).get('/api/tasks');
  expect(res.status).toBe(200);
  return (res.body.items as { id: number }[]).map((i) => i.id);
};

test('a city stage: 待办 once it opens, due date, stuck view, statistics, escalation to the province, decided', async () => {
  const before = await stats();
  const created = await fileTransfer(stack, 'nj.s1', ZHANG);
  expect(created.status).toBe(201);
  const id = created.body.id as number;

  // Not the city bureau's task before its stage opens.
  expect(await taskIds('bz.edu')).not.toContain(id);
  expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
  expect(await taskIds('bz.edu')).not.toContain(id);
  const opened = await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY');
  expect(opened.status).toBe(200);
  expect(opened.body.currentStage).toBe('RECEIVING_CITY');

  // The city stage got its due date when it opened; the later stages have none yet.
  const steps = opened.body.steps as { stage: Stage; dueAt: string | null }[];
  const city = steps.find((s) => s.stage === 'RECEIVING_CITY')!;
  expect(city.dueAt).not.toBeNull();
  expect(Date.parse(city.dueAt!)).toBeGreaterThan(Date.now() - STAGE_DUE_MS);
  expect(steps.find((s) => s.stage === 'RECEIVING_PROVINCE')!.dueAt).toBeNull();

  // 待办: the city bureau's, not yet the province's.
  expect(await taskIds('bz.edu')).toContain(id);
  expect(await taskIds('sc.edu')).not.toContain(id);

  // The stuck view lists the case at the city stage, held by 巴中市教育局.
  const all = await as(stack, 'admin').get('/api/admin/stuck?kind=all');
  expect(all.status).toBe(200);
  expect(all.body.items.find((i: { id: number }) => i.id === id)).toMatchObject({
    currentStage: 'RECEIVING_CITY',
    holder: { code: '5119', name: '巴中市教育局' },
    dueAt: city.dueAt,
  });

  // Statistics: open at the city stage, for the city bureau; the two decided stages before it.
  const open = await stats();
  expect(open.stage('RECEIVING_CITY').open).toBe(before.stage('RECEIVING_CITY').open + 1);
  expect(open.org('5119').open).toBe(before.org('5119').open + 1);
  expect(open.stage('RECEIVING_COUNTY').decided).toBe(before.stage('RECEIVING_COUNTY').decided + 1);

  // Overdue: reminded, then escalated to the province's bureau (四川省教育厅), by mail to its users.
  const escalated = await waitFor(
    async () => {
      const s = await stack.prisma.applicationStep.findFirstOrThrow({
        where: { applicationId: id, stage: 'RECEIVING_CITY' },
      });
      return s.escalatedAt ? s : null;
    },
    30_000,
    'city stage escalated',
  );
  expect(escalated.overdueAt).not.toBeNull();
  expect(escalated.escalatedTo).toBe('51');
  const reminder = await waitFor(async () => mailsFor(smtp.received, id, '.RECEIVING_CITY.reminder.')[0]);
  expect(reminder.to).toEqual(['bz.edu@demo.xueji.local']);
  const escalation = await waitFor(async () => mailsFor(smtp.received, id, '.RECEIVING_CITY.escalation.')[0]);
  expect(escalation.to).toEqual(['sc.edu@demo.xueji.local']);
  expect(escalation.subject).toContain('【超期上报】巴中市教育局');
  expect(escalation.text).toContain('未办理单位：巴中市教育局');
  const actions = await stack.prisma.auditEvent.findMany({
    where: { applicationId: id, action: 'application.escalate' },
  });
  expect(actions.map((a) => a.details)).toEqual([expect.objectContaining({ stage: 'RECEIVING_CITY', to: '51' })]);

  // The stuck view's overdue list shows it escalated to 四川省教育厅; statistics count it overdue.
  const overdue = await as(stack, 'admin').get('/api/admin/stuck?kind=overdue');
  expect(overdue.body.items.find((i: { id: number }) => i.id === id)).toMatchObject({
    currentStage: 'RECEIVING_CITY',
    overdue: true,
    escalated: true,
    escalatedTo: { code: '51', name: '四川省教育厅' },
    holder: { code: '5119' },
  });
  const late = await stats();
  expect(late.stage('RECEIVING_CITY').overdue).toBe(before.stage('RECEIVING_CITY').overdue + 1);
  expect(late.org('5119').overdue).toBe(before.org('5119').overdue + 1);

  // The city bureau decides: the case leaves its 待办 for the province's; statistics count the decided city stage.
  const decided = await decideAs(stack, 'bz.edu', id, 'RECEIVING_CITY');
  expect(decided.status).toBe(200);
  expect(decided.body.currentStage).toBe('RECEIVING_PROVINCE');
  expect(decided.body.steps.find((s: { stage: Stage }) => s.stage === 'RECEIVING_PROVINCE').dueAt).not.toBeNull();
  expect(await taskIds('bz.edu')).not.toContain(id);
  expect(await taskIds('sc.edu')).toContain(id);
  const after = await stats();
  expect(after.stage('RECEIVING_CITY')).toMatchObject({
    open: before.stage('RECEIVING_CITY').open,
    overdue: before.stage('RECEIVING_CITY').overdue,
    decided: before.stage('RECEIVING_CITY').decided + 1,
  });
  expect(after.org('5119')).toMatchObject({ open: before.org('5119').open, decided: before.org('5119').decided + 1 });
  expect(after.org('51').open).toBe(before.org('51').open + 1);
}, 90_000);

/** Waits until the case's stage is escalated; the step. */
const escalatedStep = (id: number, stage: Stage) =>
  waitFor(
    async () => {
      const s = await stack.prisma.applicationStep.findFirstOrThrow({ where: { applicationId: id, stage } });
      return s.escalatedAt ? s : null;
    },
    30_000,
    `${stage} escalated`,
  );

test("the sending side: an overdue SENDING_CITY escalates to the sending province's bureau, SENDING_PROVINCE to the administrators", async () => {
  const created = await fileTransfer(stack, 'nj.s1', LI);
  expect(created.status).toBe(201);
  const id = created.body.id as number;
  // Through the receiving side and the sending school and county, each well within its time limit.
  for (const [user, stage] of [
    ['nj.s1', 'RECEIVING_SCHOOL'],
    ['nj.edu', 'RECEIVING_COUNTY'],
    ['bz.edu', 'RECEIVING_CITY'],
    ['sc.edu', 'RECEIVING_PROVINCE'],
    ['hhg.s1', 'SENDING_SCHOOL'],
  ]) {
    expect([stage, (await decideAs(stack, user, id, stage)).status]).toEqual([stage, 200]);
  }
  expect(await taskIds('zy.edu')).not.toContain(id);
  const opened = await decideAs(stack, 'hhg.edu', id, 'SENDING_COUNTY');
  expect(opened.status).toBe(200);
  expect(opened.body.currentStage).toBe('SENDING_CITY');
  expect(await taskIds('zy.edu')).toContain(id);
  expect(await taskIds('gz.edu')).not.toContain(id);

  // Overdue at 遵义市教育局: reminded, then escalated to 贵州省教育厅 (the sending province), not to 四川's.
  const city = await escalatedStep(id, 'SENDING_CITY');
  expect(city.overdueAt).not.toBeNull();
  expect(city.escalatedTo).toBe('52');
  const reminder = await waitFor(async () => mailsFor(smtp.received, id, '.SENDING_CITY.reminder.')[0]);
  expect(reminder.to).toEqual(['zy.edu@demo.xueji.local']);
  const escalation = await waitFor(async () => mailsFor(smtp.received, id, '.SENDING_CITY.escalation.')[0]);
  expect(escalation.to).toEqual(['gz.edu@demo.xueji.local']);
  expect(escalation.subject).toContain('【超期上报】遵义市教育局');
  expect(escalation.text).toContain('未办理单位：遵义市教育局');
  const overdue = await as(stack, 'admin').get('/api/admin/stuck?kind=overdue');
  expect(overdue.body.items.find((i: { id: number }) => i.id === id)).toMatchObject({
    currentStage: 'SENDING_CITY',
    overdue: true,
    escalated: true,
    escalatedTo: { code: '52', name: '贵州省教育厅' },
    holder: { code: '5203', name: '遵义市教育局' },
  });

  // 遵义 decides: the province's stage opens in 贵州's 待办; overdue in turn, it goes to the administrators.
  const decided = await decideAs(stack, 'zy.edu', id, 'SENDING_CITY');
  expect(decided.status).toBe(200);
  expect(decided.body.currentStage).toBe('SENDING_PROVINCE');
  expect(await taskIds('zy.edu')).not.toContain(id);
  expect(await taskIds('gz.edu')).toContain(id);
  const province = await escalatedStep(id, 'SENDING_PROVINCE');
  expect(province.escalatedTo).toBe('ADMIN');
  const toAdmins = await waitFor(async () => mailsFor(smtp.received, id, '.SENDING_PROVINCE.escalation.')[0]);
  expect(toAdmins.to).toEqual(['admin@demo.xueji.local']);
  expect(toAdmins.subject).toContain('【超期上报】贵州省教育厅');
  const actions = await stack.prisma.auditEvent.findMany({
    where: { applicationId: id, action: 'application.escalate' },
    orderBy: { seq: 'asc' },
  });
  expect(actions.map((a) => a.details)).toEqual([
    expect.objectContaining({ stage: 'SENDING_CITY', orgCode: '5203', to: '52' }),
    expect.objectContaining({ stage: 'SENDING_PROVINCE', orgCode: '52', to: 'ADMIN' }),
  ]);
  expect((await decideAs(stack, 'gz.edu', id, 'SENDING_PROVINCE')).body.status).toBe('APPROVED');
}, 90_000);
