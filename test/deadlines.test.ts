import { spawnSync } from 'node:child_process';
import type { Stage } from '../domain/types';
import request from 'supertest';
import { CN_WORKING_CALENDAR, shanghaiDate } from '../domain/calendar';
import { DEFAULT_DEADLINE_POLICY, stageDeadline, type DeadlinePolicy } from '../domain/deadlines';
import { stateQuery } from '../workflows/messages';
import { resolveTemporalCli } from '../infra/temporal';
import { startSmtp, type Received } from './support/smtp';
import {
  as,
  decideAs,
  fileTransfer,
  startStack,
  testMailer,
  waitFor,
  ZHANG,
  LI,
  type TestStack,
} from './support/stack';

// Time limits, reminders, escalation and mail on the real stack (Temporal dev server, Postgres, an SMTP server on
// loopback). Durations are milliseconds given to the worker's policy, so nothing waits for real working days.
// Demo users have mailboxes <username>@demo.xueji.local; the receiving school (nj.s1) files every case here.

const policy = (p: Partial<DeadlinePolicy>): DeadlinePolicy => ({ ...DEFAULT_DEADLINE_POLICY, ...p });
const ID_NUMBER = /\d{17}[\dXx]/;
const mailbox = (user: string) => `${user}@demo.xueji.local`;

/** The outbox key in a received message's Message-ID, e.g. app.12.r1.RECEIVING_SCHOOL.reminder.2 */
const keyOf = (m: Received) => m.headers.get('message-id') ?? '';
const mailsFor = (received: Received[], id: number, part: string) =>
  received.filter((m) => keyOf(m).startsWith(`<app.${id}.`) && keyOf(m).includes(part));

async function step(stack: TestStack, id: number, stage: Stage) {
  return stack.prisma.applicationStep.findFirstOrThrow({
    where: { applicationId: id, stage },
    orderBy: { round: 'desc' },
  });
}

async function file(stack: TestStack, studentNo: string) {
  const res = await fileTransfer(stack, 'nj.s1', studentNo);
  expect(res.status).toBe(201);
  return res.body.id as number;
}

describe('timers: overdue, reminders once per interval, escalation, all stopped by a decision or a cancellation', () => {
  const INTERVAL = 1500;
  let stack: TestStack;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    stack = await startStack({
      mailer: testMailer(smtp.url),
      activities: { deadlines: policy({ stageDueMs: 1000, reminderIntervalMs: INTERVAL, escalateAfterMs: 2500 }) },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await smtp?.close();
  });

  test('a school stage: overdue, reminded every interval, escalated to its county bureau; the decision stops it', async () => {
    const id = await file(stack, ZHANG);

    const overdue = await waitFor(async () => (await step(stack, id, 'RECEIVING_SCHOOL')).overdueAt, 15_000, 'overdue');
    const first = await step(stack, id, 'RECEIVING_SCHOOL');
    expect(first.dueAt).not.toBeNull();
    expect(overdue.getTime()).toBeGreaterThanOrEqual(first.dueAt!.getTime());

    // Search attribute: Temporal's own list finds the case as overdue, held by the receiving school.
    const query = `WorkflowId = "application-${id}" AND XjOverdue = true AND XjHolderOrg = "5119220001" AND XjStage = "RECEIVING_SCHOOL" AND XjChangeType = "TRANSFER"`;
    await waitFor(
      async () => {
        for await (const wf of stack.temporal.workflow.list({ query })) return wf.workflowId === `application-${id}`;
        return false;
      },
      15_000,
      'XjOverdue in visibility',
    );

    // Escalation of a school stage goes to the school's county bureau (南江县教育局), by mail to its users.
    const escalated = await waitFor(async () => {
      const s = await step(stack, id, 'RECEIVING_SCHOOL');
      return s.escalatedAt ? s : null;
    });
    expect(escalated.escalatedTo).toBe('511922');
    const escalation = await waitFor(async () => mailsFor(smtp.received, id, '.RECEIVING_SCHOOL.escalation.')[0]);
    expect(escalation.to).toEqual([mailbox('nj.edu')]);
    expect(escalation.subject).toContain('【超期上报】南江县实验小学');
    expect(escalation.text).toContain('未办理单位：南江县实验小学');

    // Reminders: to the holder's users, the first at the due time, then one per interval — never closer together.
    await waitFor(
      async () => mailsFor(smtp.received, id, '.RECEIVING_SCHOOL.reminder.').length >= 3,
      15_000,
      'reminders',
    );
    const reminders = mailsFor(smtp.received, id, '.RECEIVING_SCHOOL.reminder.');
    for (const r of reminders) {
      expect(r.to).toEqual([mailbox('nj.s1')]);
      expect(r.subject).toContain('【催办】');
      expect(r.text).toContain('学生姓名：张小明');
    }
    // When the workflow reminded (its writes, in the audit trail; the mails follow through the outbox a moment later).
    const reminded = await stack.prisma.auditEvent.findMany({
      where: { applicationId: id, action: { in: ['application.overdue', 'application.remind'] } },
      orderBy: { seq: 'asc' },
    });
    expect(reminded.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < reminded.length; i++) {
      expect(reminded[i].at.getTime() - reminded[i - 1].at.getTime()).toBeGreaterThanOrEqual(INTERVAL - 100);
    }

    // The administrator's view shows it: overdue, reminders counted, escalated to the bureau.
    const stuck = await as(stack, 'admin').get('/api/admin/stuck?kind=overdue');
    expect(stuck.status).toBe(200);
    const item = stuck.body.items.find((i: { id: number }) => i.id === id);
    expect(item).toMatchObject({
      overdue: true,
      escalated: true,
      escalatedTo: { code: '511922', name: '南江县教育局' },
      holder: { code: '5119220001' },
      currentStage: 'RECEIVING_SCHOOL',
    });
    expect(item.remindersSent).toBeGreaterThanOrEqual(3);

    // The decision stops the stage's timers at once.
    expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    const after = await step(stack, id, 'RECEIVING_SCHOOL');
    const sentBefore = mailsFor(smtp.received, id, '.RECEIVING_SCHOOL.reminder.').length;
    // The next stage is told (task mail with its due time). The applicant approved its own stage: no mail telling
    // it what it did.
    const task = await waitFor(async () => mailsFor(smtp.received, id, '.RECEIVING_COUNTY.task')[0]);
    expect(task.to).toEqual([mailbox('nj.edu')]);
    expect(task.subject).toContain('【待办提醒】转学申请');
    expect(task.text).toMatch(/办理期限：\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}/);
    expect(mailsFor(smtp.received, id, '.RECEIVING_SCHOOL.decision')).toHaveLength(0);

    await new Promise((r) => setTimeout(r, 2 * INTERVAL + 500));
    expect(mailsFor(smtp.received, id, '.RECEIVING_SCHOOL.reminder.')).toHaveLength(sentBefore);
    expect((await step(stack, id, 'RECEIVING_SCHOOL')).remindersSent).toBe(after.remindersSent);

    // A bureau stage escalates to the administrators.
    const bureau = await waitFor(async () => {
      const s = await step(stack, id, 'RECEIVING_COUNTY');
      return s.escalatedAt ? s : null;
    });
    expect(bureau.escalatedTo).toBe('ADMIN');
    const toAdmins = await waitFor(async () => mailsFor(smtp.received, id, '.RECEIVING_COUNTY.escalation.')[0]);
    expect(toAdmins.to).toEqual([mailbox('admin')]);

    // Cancelling stops the timers as well, and the applicant is told how the case ended.
    const cancel = await as(stack, 'admin').post(`/api/applications/${id}/cancel`, { reason: '重复申请，测试取消' });
    expect(cancel.status).toBe(200);
    const countyReminders = mailsFor(smtp.received, id, '.RECEIVING_COUNTY.reminder.').length;
    const finished = await waitFor(async () => mailsFor(smtp.received, id, '.END.finished')[0]);
    expect(finished.to).toEqual([mailbox('nj.s1')]);
    expect(finished.subject).toContain('【办结通知】');
    expect(finished.text).toContain('办理结果：已取消');
    expect(finished.text).toContain('重复申请，测试取消');
    await new Promise((r) => setTimeout(r, 2 * INTERVAL + 500));
    expect(mailsFor(smtp.received, id, '.RECEIVING_COUNTY.reminder.')).toHaveLength(countyReminders);
    expect(await stack.temporal.workflow.getHandle(`application-${id}`).result()).toMatchObject({
      status: 'CANCELLED',
    });

    // Never an ID number or 学籍号 in any mail.
    for (const m of mailsFor(smtp.received, id, '')) {
      expect(m.subject + m.text + m.html).not.toMatch(ID_NUMBER);
    }
    const actions = await stack.prisma.auditEvent.findMany({ where: { applicationId: id }, select: { action: true } });
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['application.overdue', 'application.remind', 'application.escalate']),
    );
  }, 90_000);

  test('a case approved through all four stages: each holder is told, the applicant hears every other decision and the end', async () => {
    const id = await file(stack, LI);
    const chain: [string, string][] = [
      ['nj.s1', 'RECEIVING_SCHOOL'],
      ['nj.edu', 'RECEIVING_COUNTY'],
      ['hhg.s1', 'SENDING_SCHOOL'],
      ['hhg.edu', 'SENDING_COUNTY'],
    ];
    for (const [i, [user, stage]] of chain.entries()) {
      const res = await decideAs(stack, user, id, stage);
      expect(res.status).toBe(200);
      // The answer already shows when the next stage is due.
      if (i < chain.length - 1) expect(res.body.steps[i + 1].dueAt).not.toBeNull();
    }
    expect(await stack.temporal.workflow.getHandle(`application-${id}`).result()).toMatchObject({
      status: 'APPROVED',
    });
    // Written with each decision, sent by the dispatcher just after: 3 task mails, 3 decisions (not the applicant's
    // own first approval), the end.
    await waitFor(async () => mailsFor(smtp.received, id, '').length >= 7, 15_000, 'seven mails');
    const mails = mailsFor(smtp.received, id, '');
    expect(mails).toHaveLength(7);
    const tasks = mails.filter((m) => keyOf(m).includes('.task'));
    expect(tasks.map((m) => m.to[0]).sort()).toEqual([mailbox('hhg.edu'), mailbox('hhg.s1'), mailbox('nj.edu')].sort());
    const decisions = mails.filter((m) => keyOf(m).includes('.decision'));
    expect(decisions.map((m) => keyOf(m).split('.')[3]).sort()).toEqual([
      'RECEIVING_COUNTY',
      'SENDING_COUNTY',
      'SENDING_SCHOOL',
    ]);
    expect(decisions.every((m) => m.to[0] === mailbox('nj.s1'))).toBe(true);
    const [finished] = mails.filter((m) => keyOf(m).includes('.END.finished'));
    expect(finished.text).toContain('办理结果：已通过');
    expect(finished.text).toContain('学生学籍已按申请变更');
    for (const m of mails) expect(m.subject + m.text + m.html).not.toMatch(ID_NUMBER);
    // One outbox row per mail, each sent once (its sentAt is recorded just after the server accepted it).
    const outbox = await waitFor(async () => {
      const rows = await stack.prisma.mailOutbox.findMany({ where: { applicationId: id } });
      return rows.every((o) => o.sentAt) ? rows : null;
    });
    expect(outbox).toHaveLength(mails.length);
    expect(outbox.every((o) => o.attempts === 1)).toBe(true);
  }, 60_000);
});

describe("the administrator's actions: remind now, extend with a reason", () => {
  let stack: TestStack;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    stack = await startStack({
      mailer: testMailer(smtp.url),
      // Overdue quickly; the next automatic reminder and the escalation are an hour away.
      activities: { deadlines: policy({ stageDueMs: 800, reminderIntervalMs: 3_600_000, escalateAfterMs: 3_600_000 }) },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await smtp?.close();
  });

  test('remind now sends one more reminder and is audited; extend moves the due date, clears overdue and is audited', async () => {
    const id = await file(stack, ZHANG);
    await waitFor(async () => (await step(stack, id, 'RECEIVING_SCHOOL')).overdueAt, 15_000, 'overdue');
    await waitFor(async () => mailsFor(smtp.received, id, '.reminder.1')[0]);

    expect((await as(stack, 'nj.edu').post(`/api/admin/applications/${id}/remind`)).status).toBe(403);
    const remind = await as(stack, 'admin').post(`/api/admin/applications/${id}/remind`);
    expect(remind.status).toBe(200);
    expect(remind.body).toEqual({ remindersSent: 2 });
    const second = await waitFor(async () => mailsFor(smtp.received, id, '.reminder.2')[0]);
    expect(second.to).toEqual([mailbox('nj.s1')]);
    const remindAudit = await stack.prisma.auditEvent.findFirstOrThrow({
      where: { applicationId: id, action: 'application.remind' },
    });
    expect(remindAudit.actorName).toBe('系统管理员');

    // Bad input: each field named, nothing changed.
    const before = await step(stack, id, 'RECEIVING_SCHOOL');
    const bad = await as(stack, 'admin').post(`/api/admin/applications/${id}/extend`, {
      stage: 'RECEIVING_SCHOOL',
      dueDate: '2020-01-01',
      reason: '短',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['dueDate', 'reason']));
    const notADate = await as(stack, 'admin').post(`/api/admin/applications/${id}/extend`, {
      stage: 'RECEIVING_SCHOOL',
      dueDate: '2026-02-30',
      reason: '学校停电，系统无法登录',
    });
    expect(notADate.status).toBe(400);
    expect(notADate.body.errors[0]).toMatchObject({ path: 'dueDate' });
    const wrongStage = await as(stack, 'admin').post(`/api/admin/applications/${id}/extend`, {
      stage: 'SENDING_COUNTY',
      dueDate: '2099-01-05',
      reason: '学校停电，系统无法登录',
    });
    expect(wrongStage.status).toBe(409);
    expect((await step(stack, id, 'RECEIVING_SCHOOL')).dueAt).toEqual(before.dueAt);

    const dueDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const extend = await as(stack, 'admin').post(`/api/admin/applications/${id}/extend`, {
      stage: 'RECEIVING_SCHOOL',
      dueDate,
      reason: '学校停电，系统无法登录',
    });
    expect(extend.status).toBe(200);
    expect(extend.body.overdue).toBe(false);
    // Due by the end of that day in China: 23:59:59.999 +08:00.
    expect(extend.body.steps[0].dueAt).toBe(new Date(Date.parse(`${dueDate}T23:59:59.999+08:00`)).toISOString());
    const s = await step(stack, id, 'RECEIVING_SCHOOL');
    expect(s.overdueAt).toBeNull();
    expect(s.dueProvisional).toBe(false);
    const extendAudit = await stack.prisma.auditEvent.findFirstOrThrow({
      where: { applicationId: id, action: 'application.extend' },
    });
    expect(extendAudit.details).toMatchObject({
      to: dueDate,
      reason: '学校停电，系统无法登录',
      stage: 'RECEIVING_SCHOOL',
    });
    // The search attribute follows: no longer overdue.
    await waitFor(async () => {
      const d = await stack.temporal.workflow.getHandle(`application-${id}`).describe();
      return d.searchAttributes.XjOverdue?.[0] === false;
    });
    const stuck = await as(stack, 'admin').get('/api/admin/stuck?kind=overdue');
    expect(stuck.body.items.map((i: { id: number }) => i.id)).not.toContain(id);

    // `temporal workflow list --query` finds cases by the search attributes, as an operator would.
    const cli = spawnSync(
      resolveTemporalCli()!,
      [
        'workflow',
        'list',
        '--address',
        process.env.TEST_TEMPORAL_ADDRESS!,
        '--query',
        `WorkflowId = "application-${id}" AND XjOverdue = false AND XjHolderOrg = "5119220001"`,
        '--output',
        'json',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain(`application-${id}`);
  }, 60_000);
});

describe('technically stuck: mail that keeps failing shows in the stuck view and recovers', () => {
  test('with the mail server down, the case moves on, its unsent mail is listed; when the server is back it clears', async () => {
    const { freePort } = await import('./support/ports');
    const port = await freePort();
    const stack = await startStack({ mailer: testMailer(`smtp://127.0.0.1:${port}`) });
    let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined;
    try {
      const id = await file(stack, ZHANG);
      // The decision itself is never held up by mail.
      expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);

      const listed = await waitFor(
        async () => {
          const res = await as(stack, 'admin').get('/api/admin/stuck?kind=technical');
          const item = res.body.items.find((i: { id: number }) => i.id === id);
          return item?.failingActivities.some((a: { attempt: number }) => a.attempt >= 2) ? item : null;
        },
        20_000,
        'failing mail in the stuck view',
      );
      expect(listed.technical).toBe(true);
      expect(listed.failingActivities[0]).toMatchObject({ activityType: 'sendMail' });
      expect(listed.failingActivities[0].lastFailure).toMatch(/ECONNREFUSED|connect/i);
      expect(listed.failingActivities[0].nextAttemptAt).not.toBeNull();
      // The case itself moved on.
      expect(listed.currentStage).toBe('RECEIVING_COUNTY');

      smtp = await startSmtp(port);
      await waitFor(async () => mailsFor(smtp!.received, id, '').length >= 1, 30_000, 'mail after recovery');
      await waitFor(
        async () => {
          const res = await as(stack, 'admin').get('/api/admin/stuck?kind=technical');
          return !res.body.items.some((i: { id: number }) => i.id === id);
        },
        15_000,
        'stuck view clears',
      );
      const kinds = mailsFor(smtp.received, id, '').map((m) => keyOf(m));
      expect(kinds).toEqual([expect.stringContaining('.RECEIVING_COUNTY.task')]);
    } finally {
      await stack.close();
      await smtp?.close();
    }
  }, 90_000);
});

describe('a due date in a year whose holidays are not loaded yet', () => {
  test('is provisional, shown so, and recomputed when an administrator loads the year', async () => {
    const today = shanghaiDate(Date.now());
    const thisYear = Number(today.slice(0, 4));
    let year = thisYear;
    while (CN_WORKING_CALENDAR.isLoaded(year)) year += 1;
    // Due in the middle of January of the first year not loaded (or a month ahead, if we are already in it).
    const target = year > thisYear ? `${year}-01-20` : shanghaiDate(Date.now() + 30 * 86_400_000);
    const days = CN_WORKING_CALENDAR.workingDaysBetween(today, target);
    // Three weekdays of that year, after today and before the due date, are declared holidays.
    const holidays: string[] = [];
    for (let d = Date.parse(`${year}-01-01T00:00:00Z`); holidays.length < 3; d += 86_400_000) {
      const date = new Date(d).toISOString().slice(0, 10);
      const weekday = new Date(d).getUTCDay();
      if (date > today && weekday >= 1 && weekday <= 5) holidays.push(date);
    }
    const stack = await startStack({ activities: { deadlines: policy({ stageWorkingDays: days }) } });
    try {
      const id = await file(stack, ZHANG);
      const s = await waitFor(async () => {
        const row = await step(stack, id, 'RECEIVING_SCHOOL');
        return row.dueAt ? row : null;
      });
      expect(s.dueProvisional).toBe(true);
      const stuck = await as(stack, 'admin').get('/api/admin/stuck');
      expect(stuck.body.items.find((i: { id: number }) => i.id === id)).toMatchObject({ dueProvisional: true });
      const overview = await as(stack, 'admin').get('/api/admin/calendar');
      expect(overview.body.provisionalOpenCases).toBe(1);
      expect(overview.body.years.map((y: { year: number }) => y.year)).not.toContain(year);

      // A contradictory arrangement is refused, naming the date; nothing is loaded.
      const bad = await as(stack, 'admin').post('/api/admin/calendar/x', {});
      expect(bad.status).toBe(404);
      const wrong = await request(stack.app)
        .put(`/api/admin/calendar/${year}`)
        .set('Authorization', `Bearer ${await stack.login('admin')}`)
        .send({ holidays: [{ name: '元旦', dates: [holidays[0]] }], workdays: [holidays[0]] });
      expect(wrong.status).toBe(400);
      expect(JSON.stringify(wrong.body.errors)).toContain(holidays[0]);
      expect(await stack.prisma.calendarYear.count()).toBe(0);
      const clerk = await request(stack.app)
        .put(`/api/admin/calendar/${year}`)
        .set('Authorization', `Bearer ${await stack.login('nj.s1')}`)
        .send({ holidays: [], workdays: [] });
      expect(clerk.status).toBe(403);

      const arrangement = { source: '测试用安排', holidays: [{ name: '测试假日', dates: holidays }], workdays: [] };
      const load = await request(stack.app)
        .put(`/api/admin/calendar/${year}`)
        .set('Authorization', `Bearer ${await stack.login('admin')}`)
        .send(arrangement);
      expect(load.status).toBe(200);
      expect(load.body.recomputed).toBe(1);
      expect(load.body.years).toContainEqual(expect.objectContaining({ year, origin: 'loaded', holidays: 3 }));

      const expected = stageDeadline(
        CN_WORKING_CALENDAR.withYear(year, arrangement),
        policy({ stageWorkingDays: days }),
        {
          type: 'TRANSFER',
          stage: 'RECEIVING_SCHOOL',
          openedAtMs: s.openedAt!.getTime(),
        },
      );
      const after = await step(stack, id, 'RECEIVING_SCHOOL');
      expect(after.dueProvisional).toBe(false);
      expect(after.dueAt!.getTime()).toBe(expected.dueAtMs);
      // Three more days off push the due date three working days later.
      expect(CN_WORKING_CALENDAR.workingDaysBetween(shanghaiDate(s.dueAt!.getTime()), expected.dueDate)).toBe(3);
      const audit = await stack.prisma.auditEvent.findMany({
        where: { OR: [{ applicationId: id, action: 'application.due_recomputed' }, { action: 'calendar.load' }] },
      });
      expect(audit.map((a) => a.action).sort()).toEqual(['application.due_recomputed', 'calendar.load']);
      // The workflow's own view moved with it.
      const state = await stack.temporal.workflow.getHandle(`application-${id}`).query(stateQuery);
      expect(state.deadline).toMatchObject({ dueAtMs: expected.dueAtMs, provisional: false, overdue: false });
    } finally {
      await stack.close();
    }
  }, 60_000);
});
