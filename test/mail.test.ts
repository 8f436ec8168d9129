import fs from 'node:fs';
import path from 'node:path';
import { createMailer, type Mailer } from '../infra/mailer';
import { startMailDispatcher, type MailDispatcher } from '../infra/mail-dispatcher';
import { Pool } from 'pg';
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
import { createTestDatabase, logger, uid, waitFor, type TestDatabase } from './support/stack';

// The outbox and its dispatcher against a real SMTP server on loopback and a real Postgres: rows written by a
// transaction, claimed with a lease, sent outside any transaction, recorded on their own — one key, one delivery.

const PUPIL_WITH_ID = { name: '张小明', idNumber: '520302201505050014', studentNo: 'G520302201505050014' };
const DUE = new Date('2026-12-01T10:00:00Z');

let db: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let mailer: Mailer;
const running: MailDispatcher[] = [];
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
  smtp.state.holdData = null;
});
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
  for (const p of pools.splice(0)) await p.end();
});

const pools: Pool[] = [];
/**
 * A pool for a dispatcher that shows the test each statement before it goes to Postgres; `intercept` may answer with
 * an error instead (the database refusing it). Ended after the test.
 */
function interceptedPool(intercept: (sql: string) => Error | undefined): Pick<Pool, 'query'> {
  const real = new Pool({ connectionString: db.url, max: 2 });
  pools.push(real);
  return {
    query: ((sql: string, params?: unknown[]) => {
      const refusal = intercept(sql);
      return refusal ? Promise.reject(refusal) : real.query(sql, params);
    }) as Pool['query'],
  };
}

const dispatcher = (opts: { mailer?: Mailer; pool?: Pick<Pool, 'query'>; leaseMs?: number } = {}) => {
  const d = startMailDispatcher({
    ...(opts.pool ? { pool: opts.pool } : {}),
    databaseUrl: db.url,
    mailer: opts.mailer ?? mailer,
    logger,
    pollMs: 200,
    retryMs: { first: 100, max: 500 },
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
  });
  running.push(d);
  return d;
};

/** Writes a task mail for a fresh key (each test its own case id) into the outbox, as a transaction would. */
async function queueTask(to = ['nj.edu@example.org']) {
  const applicationId = Math.floor(Math.random() * 1e9);
  const mail = taskMail({
    case: { id: applicationId, type: 'TRANSFER', pupil: PUPIL_WITH_ID },
    stage: 'RECEIVING_COUNTY',
    orgName: '南江县教育局',
    dueAt: DUE,
  });
  const key = mailKey({ applicationId, round: 1, stage: 'RECEIVING_COUNTY', kind: 'task' });
  await db.prisma.$transaction(async (tx) => {
    await tx.mailOutbox.createMany({
      data: [{ key, applicationId, kind: 'task', toAddresses: to, ...mail }],
      skipDuplicates: true,
    });
    await tx.$executeRaw`select pg_notify('xueji_mail', '')`;
  });
  return { key, mail };
}

/** Messages the SMTP server received for one outbox key (tests share the server; each has its own keys). */
const receivedFor = (key: string) =>
  smtp.received.filter((m) => m.headers.get('message-id')?.startsWith(`<${key.replace(/:/g, '.')}.`));

const sentRow = (key: string) =>
  waitFor(
    async () => {
      const row = await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key } });
      return row.sentAt ? row : null;
    },
    15_000,
    `mail ${key} recorded as sent`,
  );

test('a queued mail is sent once over SMTP, woken by the commit, with its recipients, Chinese subject, text, HTML and a Message-ID from its key', async () => {
  dispatcher();
  const { key, mail } = await queueTask(['nj.edu@example.org', 'nj.officer@example.org']);
  const row = await sentRow(key);
  expect(row.attempts).toBe(1);
  expect(row.leaseUntil).toBeNull();
  expect(receivedFor(key)).toHaveLength(1);
  const msg = receivedFor(key)[0];
  expect(msg.to).toEqual(['nj.edu@example.org', 'nj.officer@example.org']);
  expect(decodeWords(msg.headers.get('subject')!)).toBe(mail.subject);
  expect(msg.text).toContain('学生姓名：张小明');
  expect(msg.html).toContain('<td>张小明</td>');
  expect(msg.headers.get('message-id')).toMatch(/^<app\.\d+\.r1\.RECEIVING_COUNTY\.task\.[0-9a-f]{10}@xueji\.local>$/);
});

test('two dispatchers on one outbox send each of 40 mails exactly once', async () => {
  const keys = await Promise.all(Array.from({ length: 40 }, () => queueTask().then((q) => q.key)));
  dispatcher();
  dispatcher();
  for (const k of keys) await sentRow(k);
  await new Promise((r) => setTimeout(r, 500));
  for (const k of keys) expect(receivedFor(k)).toHaveLength(1);
});

test('a server that refuses the recipient leaves the row unsent with the error and a later attempt time; after the fault it is sent once', async () => {
  smtp.state.rejectRcpt = true;
  dispatcher();
  const { key } = await queueTask();
  const failed = await waitFor(
    async () => {
      const row = await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key } });
      // Between attempts: claimed twice, and the second claim released with its error.
      return row.attempts >= 2 && !row.leaseUntil ? row : null;
    },
    15_000,
    'two failed attempts',
  );
  expect(failed.sentAt).toBeNull();
  expect(failed.lastError).toMatch(/recipients were rejected|550/);
  expect(failed.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() - 1000);
  expect(receivedFor(key)).toHaveLength(0);
  smtp.state.rejectRcpt = false;
  const row = await sentRow(key);
  expect(row.lastError).toBeNull();
  await new Promise((r) => setTimeout(r, 500));
  expect(receivedFor(key)).toHaveLength(1);
});

test('one notified commit costs one claim: a claim short of a full batch is not followed by an empty one', async () => {
  // Every claim is a commit, and every decision notifies: an empty claim after each batch was one commit per decision.
  let claims = 0;
  const counting = interceptedPool((sql) => {
    if (sql.includes('set "leaseUntil" = (now()') && sql.includes('skip locked')) claims += 1;
    return undefined;
  });
  const d = startMailDispatcher({ pool: counting, databaseUrl: db.url, mailer, logger, pollMs: 60_000 });
  running.push(d);
  await waitFor(async () => claims >= 1 || null, 5_000, 'the first claim');
  await new Promise((r) => setTimeout(r, 500)); // listening by now; the start's own looks are done
  claims = 0;
  const { key } = await queueTask();
  await sentRow(key);
  await new Promise((r) => setTimeout(r, 500));
  expect(claims).toBe(1);
  expect(receivedFor(key)).toHaveLength(1);
});

test('when recording the send fails, the record alone is retried: the mail is not sent a second time', async () => {
  // The database refuses the first two "sent" records (as during an outage) after the server accepted the mail.
  let refused = 0;
  const flaky = interceptedPool((sql) => {
    if (!sql.includes('"sentAt" = (now()') || refused >= 2) return undefined;
    refused += 1;
    return new Error('Connection terminated unexpectedly');
  });
  dispatcher({ pool: flaky });
  const { key } = await queueTask();
  const row = await sentRow(key);
  expect(refused).toBe(2);
  expect(row.attempts).toBe(1);
  await new Promise((r) => setTimeout(r, 500));
  expect(receivedFor(key)).toHaveLength(1);
});

test('a row claimed by a dispatcher that died is left alone while its lease lasts, then sent with the same Message-ID', async () => {
  const { key } = await queueTask();
  // A dispatcher claimed it (and may have sent it) just before it died: the lease runs two more seconds.
  await db.prisma.mailOutbox.update({
    where: { key },
    data: { attempts: 1, leaseUntil: new Date(Date.now() + 2_000) },
  });
  dispatcher();
  await new Promise((r) => setTimeout(r, 1_000));
  expect(receivedFor(key)).toHaveLength(0);
  const row = await sentRow(key);
  expect(row.attempts).toBe(2);
  expect(receivedFor(key)).toHaveLength(1);
});

test('while the SMTP server keeps the dispatcher waiting on DATA, no transaction is open in Postgres', async () => {
  let release = () => undefined as void;
  smtp.state.holdData = new Promise<void>((resolve) => (release = resolve));
  try {
    const seen = smtp.state.dataReceived;
    dispatcher();
    const { key } = await queueTask();
    await waitFor(async () => smtp.state.dataReceived > seen, 15_000, 'the message sent up to its DATA reply');
    // Every other connection to this database (the dispatcher's claim, held and LISTEN connections, the test's own):
    // none inside a transaction, none idle in one.
    const others = await db.prisma.$queryRaw<{ state: string | null; inTransaction: boolean; query: string }[]>`
      select state, xact_start is not null as "inTransaction", query from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid()`;
    expect(others.length).toBeGreaterThanOrEqual(2);
    expect(others.filter((c) => c.inTransaction || c.state === 'idle in transaction')).toEqual([]);
    expect((await db.prisma.mailOutbox.findUniqueOrThrow({ where: { key } })).sentAt).toBeNull();
    release();
    await sentRow(key);
    expect(receivedFor(key)).toHaveLength(1);
  } finally {
    release();
  }
});

test('without SMTP_URL the message is written as an .eml file under DATA_DIR/mail', async () => {
  const dataDir = path.join(process.env.TEST_WORK_DIR!, `mail-${uid()}`);
  const fileMailer = createMailer({
    SMTP_URL: undefined,
    DATA_DIR: dataDir,
    MAIL_FROM: '测试 <noreply@school.example.org>',
  });
  expect(fileMailer.transport).toBe('file');
  dispatcher({ mailer: fileMailer });
  const { key, mail } = await queueTask(['nj.edu@example.org']);
  await sentRow(key);
  const files = fs.readdirSync(path.join(dataDir, 'mail'));
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/\.eml$/);
  const parsed = parseMessage(fs.readFileSync(path.join(dataDir, 'mail', files[0]), 'latin1'));
  expect(parsed.headers.get('to')).toBe('nj.edu@example.org');
  expect(parsed.headers.get('message-id')).toMatch(/@school\.example\.org>$/);
  expect(decodeWords(parsed.headers.get('from')!)).toBe('测试 <noreply@school.example.org>');
  expect(parsed.subject).toBe(mail.subject);
  expect(smtp.received).toHaveLength(0);
  fileMailer.close();
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
