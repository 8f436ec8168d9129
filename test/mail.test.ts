import fs from 'node:fs';
import path from 'node:path';
import { createMailActivities, type SendMailInput } from '../activities/mail';
import { createMailer, type Mailer } from '../infra/mailer';
import {
  decisionMail,
  escalationMail,
  finishedMail,
  mailKey,
  reminderMail,
  taskMail,
  type MailContent,
} from '../infra/mail-templates';
import { decodeWords, parseMessage, startSmtp } from './support/smtp';
import { createTestDatabase, logger, uid, type TestDatabase } from './support/stack';

// sendMail against a real SMTP server on loopback and a real Postgres: one key, at most one delivery.

const PUPIL_WITH_ID = { name: '张小明', idNumber: '520302201505050014', studentNo: 'G520302201505050014' };
const DUE = new Date('2026-12-01T10:00:00Z');

let db: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let mailer: Mailer;
beforeAll(async () => {
  [db, smtp] = await Promise.all([createTestDatabase(), startSmtp()]);
  mailer = createMailer({
    SMTP_URL: smtp.url,
    DATA_DIR: '/nonexistent',
    MAIL_FROM: '学籍异动系统 <noreply@xueji.local>',
  });
});
afterAll(async () => {
  mailer?.close();
  await smtp?.close();
  await db?.drop();
});
beforeEach(() => {
  smtp.received.length = 0;
  smtp.state.rejectRcpt = false;
});

/** A task mail for a fresh key (each test its own case id). */
function taskInput(to = ['nj.edu@example.org']): SendMailInput {
  const applicationId = Math.floor(Math.random() * 1e9);
  const mail = taskMail({
    case: { id: applicationId, type: 'TRANSFER', pupil: PUPIL_WITH_ID },
    stage: 'RECEIVING_COUNTY',
    orgName: '南江县教育局',
    dueAt: DUE,
  });
  return {
    key: mailKey({ applicationId, round: 1, stage: 'RECEIVING_COUNTY', kind: 'task' }),
    applicationId,
    kind: 'task',
    to,
    ...mail,
  };
}

test('sendMail delivers one message over SMTP with its recipients, Chinese subject, text and HTML', async () => {
  const { sendMail } = createMailActivities({ prisma: db.prisma, mailer, logger });
  const input = taskInput(['nj.edu@example.org', 'backup@example.org']);

  const result = await sendMail(input);

  expect(result.sent).toBe(true);
  expect(smtp.received).toHaveLength(1);
  const [msg] = smtp.received;
  expect(msg.to).toEqual(['nj.edu@example.org', 'backup@example.org']);
  expect(msg.headers.get('to')).toBe('nj.edu@example.org, backup@example.org');
  expect(decodeWords(msg.headers.get('from')!)).toContain('学籍异动系统');
  expect(msg.subject).toBe(input.subject);
  expect(msg.subject).toContain('【待办提醒】转学申请');
  expect(msg.text.replace(/\r\n/g, '\n')).toBe(input.text);
  expect(msg.text).toContain('学生姓名：张小明');
  expect(msg.text).toContain('审核环节：转入县教育局审核');
  expect(msg.text).toContain('2026/12/01 18:00');
  expect(msg.html).toContain('<td>张小明</td>');
  expect(msg.headers.get('message-id')).toMatch(/^<app\.\d+\.r1\.RECEIVING_COUNTY\.task\.[0-9a-f]{10}@xueji\.local>$/);

  const row = await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key: input.key } });
  expect(row).toMatchObject({ kind: 'task', attempts: 1, lastError: null, toAddresses: input.to });
  expect(row.sentAt).toEqual(result.sentAt);
});

test('the same key twice in a row, and three times at once, delivers exactly one message', async () => {
  const { sendMail } = createMailActivities({ prisma: db.prisma, mailer, logger });
  const first = taskInput();
  const again1 = await sendMail(first);
  const again2 = await sendMail(first);
  expect([again1.sent, again2.sent]).toEqual([true, false]);
  expect(again2.sentAt).toEqual(again1.sentAt);
  expect(smtp.received).toHaveLength(1);

  smtp.received.length = 0;
  const second = taskInput();
  const results = await Promise.all([sendMail(second), sendMail(second), sendMail(second)]);
  expect(results.filter((r) => r.sent)).toHaveLength(1);
  expect(smtp.received).toHaveLength(1);
  const row = await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key: second.key } });
  expect(row.attempts).toBe(1);
});

test('a server that refuses the recipient makes sendMail throw and leaves the row unsent; after the fault it sends once', async () => {
  const { sendMail } = createMailActivities({ prisma: db.prisma, mailer, logger });
  const input = taskInput();
  smtp.state.rejectRcpt = true;

  await expect(sendMail(input)).rejects.toThrow(/recipients were rejected|550/);
  await expect(sendMail(input)).rejects.toThrow();
  let row = await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key: input.key } });
  expect(row.sentAt).toBeNull();
  expect(row.attempts).toBe(2);
  expect(row.lastError).toMatch(/550|mailbox unavailable/);
  expect(smtp.received).toHaveLength(0);

  smtp.state.rejectRcpt = false;
  expect((await sendMail(input)).sent).toBe(true);
  expect((await sendMail(input)).sent).toBe(false);
  expect(smtp.received).toHaveLength(1);
  row = await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key: input.key } });
  expect(row.sentAt).not.toBeNull();
  expect(row.attempts).toBe(3);
  expect(row.lastError).toBeNull();
});

test('without SMTP_URL the message is written as an .eml file under DATA_DIR/mail, once per key', async () => {
  const dataDir = path.join(process.env.TEST_WORK_DIR!, `mail-${uid()}`);
  const fileMailer = createMailer({
    SMTP_URL: undefined,
    DATA_DIR: dataDir,
    MAIL_FROM: '测试 <noreply@school.example.org>',
  });
  expect(fileMailer.transport).toBe('file');
  const { sendMail } = createMailActivities({ prisma: db.prisma, mailer: fileMailer, logger });
  const input = taskInput(['nj.edu@example.org']);

  await sendMail(input);
  await sendMail(input);

  const files = fs.readdirSync(path.join(dataDir, 'mail'));
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/\.eml$/);
  const parsed = parseMessage(fs.readFileSync(path.join(dataDir, 'mail', files[0]), 'latin1'));
  expect(parsed.headers.get('to')).toBe('nj.edu@example.org');
  expect(parsed.headers.get('message-id')).toMatch(/@school\.example\.org>$/);
  expect(decodeWords(parsed.headers.get('from')!)).toBe('测试 <noreply@school.example.org>');
  expect(parsed.subject).toBe(input.subject);
  expect(parsed.text).toContain('学生姓名：张小明');
  expect(parsed.html).toContain('张小明');
  expect(smtp.received).toHaveLength(0);
  fileMailer.close();
});

test('a mail without recipients fails with the named, non-retryable error and writes nothing', async () => {
  const { sendMail } = createMailActivities({ prisma: db.prisma, mailer, logger });
  const input = taskInput([]);
  await expect(sendMail(input)).rejects.toMatchObject({ name: 'MailWithoutRecipientsError' });
  expect(await db.prisma.mailOutbox.count({ where: { key: input.key } })).toBe(0);
});

describe('templates', () => {
  const ID_NUMBER = /\d{17}[\dXx]/;
  const base = { id: 4242, type: 'TRANSFER' as const, pupil: PUPIL_WITH_ID };
  const all: [string, MailContent][] = [
    ['task', taskMail({ case: base, stage: 'SENDING_SCHOOL', orgName: '遵义市红花岗区第一小学', dueAt: DUE })],
    [
      'decision',
      decisionMail({
        case: base,
        stage: 'RECEIVING_COUNTY',
        decision: 'RETURN',
        orgName: '南江县教育局',
        // A reviewer may type the number into the comment: it is masked too.
        comment: '请核对学籍号 G520302201505050014 与身份证 520302201505050014',
      }),
    ],
    ['finished', finishedMail({ case: base, status: 'APPROVED' })],
    ['reminder', reminderMail({ case: base, stage: 'SENDING_COUNTY', dueAt: DUE, orgName: '红花岗区教育局' })],
    [
      'escalation',
      escalationMail({ case: base, stage: 'SENDING_SCHOOL', dueAt: DUE, orgName: '遵义市红花岗区第一小学' }),
    ],
  ];

  test.each(all)('%s mail names the pupil but never carries an ID number or 学籍号', (_kind, mail) => {
    for (const part of [mail.subject, mail.text, mail.html]) {
      expect(part).toContain('张小明');
      expect(part).not.toMatch(ID_NUMBER);
      expect(part).not.toContain('0505');
    }
    expect(mail.text).toContain('业务编号：4242');
  });

  test('names and comments are HTML-escaped in the HTML part and plain in the text part', () => {
    const evil = { ...base, pupil: { name: '<script>alert(1)</script>' } };
    const mail = decisionMail({
      case: evil,
      stage: 'SCHOOL',
      decision: 'REJECT',
      orgName: 'A & B',
      comment: '"x" <b>',
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.html).toContain('A &amp; B');
    expect(mail.html).toContain('&quot;x&quot; &lt;b&gt;');
    expect(mail.text).toContain('学生姓名：<script>alert(1)</script>');
    expect(mail.subject).toContain('不同意');
  });

  test('mailKey names case, round, stage and kind', () => {
    expect(mailKey({ applicationId: 7, round: 2, stage: 'SENDING_SCHOOL', kind: 'reminder', n: 3 })).toBe(
      'app:7:r2:SENDING_SCHOOL:reminder:3',
    );
    expect(mailKey({ applicationId: 7, round: 1, stage: 'END', kind: 'finished' })).toBe('app:7:r1:END:finished');
  });
});
