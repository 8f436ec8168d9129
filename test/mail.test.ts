import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
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
import { freePort } from './support/ports';
import { createTestDatabase, logger, uid, type TestDatabase } from './support/stack';

// sendMail against a real SMTP server on loopback and a real Postgres: one key, at most one delivery.

interface Received {
  to: string[];
  headers: Map<string, string>;
  subject: string;
  text: string;
  html: string;
}

/** An SMTP server on a free loopback port that keeps what it receives; `rejectRcpt` makes it refuse recipients. */
async function startSmtp() {
  const received: Received[] = [];
  const state = { rejectRcpt: false };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address: SMTPServerAddress, _session, callback) {
      if (state.rejectRcpt) {
        const err = Object.assign(new Error('mailbox unavailable (test fault)'), { responseCode: 550 });
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          ...parseMessage(Buffer.concat(chunks).toString('latin1')),
        });
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// A minimal MIME reader for what nodemailer writes: folded headers, RFC 2047 words, multipart/alternative,
// base64 / quoted-printable bodies. Bytes are carried as latin1 strings and decoded as UTF-8 at the end.
function splitHead(raw: string): [Map<string, string>, string] {
  const at = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, at).replace(/\r?\n[ \t]+/g, ' ');
  const body = raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return [headers, body];
}
const utf8 = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');
const qp = (s: string) =>
  s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
function decodeWords(s: string): string {
  return utf8(s)
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : utf8(qp(data.replace(/_/g, ' '))),
    );
}
function decodeBody(headers: Map<string, string>, body: string): string {
  const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') return utf8(qp(body));
  return utf8(body);
}
function parseMessage(raw: string): Omit<Received, 'to'> {
  const [headers, body] = splitHead(raw);
  const parts: Record<string, string> = {};
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const [h, b] = splitHead(chunk.replace(/^\r?\n/, ''));
      parts[(h.get('content-type') ?? '').split(';')[0]] = decodeBody(h, b.replace(/\r?\n$/, ''));
    }
  } else {
    parts[(headers.get('content-type') ?? 'text/plain').split(';')[0]] = decodeBody(headers, body);
  }
  return {
    headers,
    subject: decodeWords(headers.get('subject') ?? ''),
    text: parts['text/plain'] ?? '',
    html: parts['text/html'] ?? '',
  };
}

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
  expect(msg.headers.get('message-id')).toMatch(
    /^<app\.\d+\.r1\.RECEIVING_COUNTY\.task\.\d+\.[0-9a-f]{10}@xueji\.local>$/,
  );

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
