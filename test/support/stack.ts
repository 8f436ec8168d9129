import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Express } from 'express';
import { Client as PgClient } from 'pg';
import request from 'supertest';
import { createActivities, type Activities, type ActivityDeps } from '../../activities';
import { buildApp } from '../../api/app';
import { TokenService } from '../../api/auth';
import type { SecuritySettings } from '../../api/security';
import { createPrisma, type PrismaClient } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { createMailer, type Mailer } from '../../infra/mailer';
import { startMailDispatcher, type MailDispatcher } from '../../infra/mail-dispatcher';
import { createWorker } from '../../worker';
import { withDatabase } from './global-setup';
import { idCheckChar } from '../../domain/id-number';
import { DEFAULT_RULES, type ProvinceRules } from '../../domain/rules';
import { NO_REVIEW_LEVELS, type ReviewLevelSettings } from '../../domain/review-levels';
import { stateQuery, workflowIdFor } from '../../workflows/messages';

let runtimeInstalled = false;
function installRuntime() {
  if (runtimeInstalled) return;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // already installed in this module registry
  }
  runtimeInstalled = true;
}

export const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
export const uid = () => randomBytes(4).toString('hex');

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

/** A database of its own for one test file: a copy of the migrated, seeded template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL!;
  const name = `xueji_t_${uid()}`;
  const admin = new PgClient({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name} template ${process.env.TEST_TEMPLATE_DB}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  // All files share one Temporal server and workflow ids are `application-<id>`: give each database
  // its own range of case ids.
  const db = new PgClient({ connectionString: url });
  await db.connect();
  await db.query(`alter sequence "Application_id_seq" restart with ${1 + Math.floor(Math.random() * 1e6) * 1000}`);
  await db.end();
  const prisma = createPrisma(url, 5);
  return {
    url,
    prisma,
    drop: async () => {
      await prisma.$disconnect();
      const c = new PgClient({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A mailer for tests: SMTP when given a URL (a test's own server), else .eml files in the test work directory. */
export function testMailer(smtpUrl?: string): Mailer {
  return createMailer({
    SMTP_URL: smtpUrl,
    DATA_DIR: path.join(process.env.TEST_WORK_DIR!, `mail-${uid()}`),
    MAIL_FROM: '学籍异动系统 <noreply@xueji.local>',
  });
}

/** The real activities on a test database. */
export function testActivities(prisma: PrismaClient, more: Partial<ActivityDeps> = {}): Activities {
  return createActivities({ prisma, logger, ...more });
}

/** The mail dispatcher on a test database: .eml files unless a mailer is given; quick retries. */
export function testDispatcher(
  db: { prisma: PrismaClient; url: string },
  mailer: Mailer = testMailer(),
): MailDispatcher {
  return startMailDispatcher({
    databaseUrl: db.url,
    mailer,
    logger,
    pollMs: 500,
    retryMs: { first: 200, max: 2_000 },
  });
}

export interface RunningWorker {
  stop(): Promise<void>;
}

/** Runs a real worker (in this process) on the test bundle, with real activities unless given others. */
export async function runWorker(opts: {
  address: string;
  taskQueue: string;
  activities: Activities;
  /** Records failing activities for the stuck view, as the production worker does. */
  prisma?: PrismaClient;
  maxCachedWorkflows?: number;
}): Promise<RunningWorker> {
  installRuntime();
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker: Worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    ...(opts.prisma ? { failures: { prisma: opts.prisma, logger } } : {}),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
  });
  const running = worker.run();
  return {
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export interface TestStack {
  db: TestDatabase;
  prisma: PrismaClient;
  temporal: TemporalClient;
  taskQueue: string;
  app: Express;
  worker: RunningWorker | null;
  /** The mail dispatcher beside the worker (null without a worker). */
  dispatcher: MailDispatcher | null;
  /** The access-token key and signer of `app`, for tests that forge or inspect tokens. */
  tokenSecret: string;
  tokens: TokenService;
  /** Another app on the same database, Temporal and key, with other security settings. */
  appWith(security: Partial<SecuritySettings>): Express;
  /** A demo user's access token (one login per user and stack, cached). */
  login(username: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real system for one test file: its own database, the shared Temporal dev server (or the
 * address given), a unique task queue, a real worker, and the Express app built as in production.
 */
export async function startStack(
  opts: {
    worker?: boolean;
    temporalAddress?: string;
    updateTimeoutMs?: number;
    rules?: Partial<ProvinceRules>;
    /** Review levels above the county (default: none, as settings/review-levels.json). */
    reviewLevels?: ReviewLevelSettings;
    security?: Partial<SecuritySettings>;
    /** More for the worker's activities: time limits (e.g. { stageDueMs: 300 }), a calendar. */
    activities?: Partial<ActivityDeps>;
    /** Where the dispatcher sends mail (default .eml files). */
    mailer?: Mailer;
    /** The console's public address (printed QR codes point at it). */
    appUrl?: string;
  } = {},
) {
  const db = await createTestDatabase();
  const address = opts.temporalAddress ?? process.env.TEST_TEMPORAL_ADDRESS!;
  const taskQueue = `test-${uid()}`;
  const connection = Connection.lazy({ address });
  const temporal = new TemporalClient({ connection, namespace: 'default' });
  const worker =
    opts.worker === false
      ? null
      : await runWorker({
          address,
          taskQueue,
          activities: testActivities(db.prisma, opts.activities),
          prisma: db.prisma,
        });
  const dispatcher = opts.worker === false ? null : testDispatcher(db, opts.mailer);
  const tokenSecret = randomBytes(32).toString('hex');
  // An hour, not the production 15 minutes: a test file's cached tokens must outlive its slowest test.
  const tokens = new TokenService(tokenSecret, '1h');
  // Every test request comes from one address: the per-address login limit is high unless a test lowers it.
  const baseSecurity: Partial<SecuritySettings> = { loginIpLimit: 1000, ...opts.security };
  const appWith = (security: Partial<SecuritySettings>) =>
    buildApp({
      prisma: db.prisma,
      temporal,
      tokens,
      logger,
      rules: { ...DEFAULT_RULES, ...opts.rules },
      reviewLevels: opts.reviewLevels ?? NO_REVIEW_LEVELS,
      config: {
        TEMPORAL_TASK_QUEUE: taskQueue,
        UPDATE_TIMEOUT_MS: opts.updateTimeoutMs ?? 15_000,
        attachmentsDir: path.join(process.env.TEST_WORK_DIR!, `attachments-${taskQueue}`),
      },
      security: { ...baseSecurity, ...security },
      appUrl: opts.appUrl,
    });
  const app = appWith({});
  const cache = new Map<string, string>();
  const stack: TestStack = {
    db,
    prisma: db.prisma,
    temporal,
    taskQueue,
    app,
    worker,
    dispatcher,
    tokenSecret,
    tokens,
    appWith,
    async login(username: string) {
      if (!cache.has(username)) {
        const res = await request(app)
          .post('/api/auth/login')
          .send({ username, password: 'demo-password' })
          .expect(200);
        cache.set(username, res.body.token);
      }
      return cache.get(username)!;
    },
    async close() {
      await stack.worker?.stop();
      await stack.dispatcher?.stop();
      await connection.close();
      await db.drop();
    },
  };
  return stack;
}

/** Authenticated supertest calls as a demo user. */
export function as(stack: TestStack, username: string) {
  const auth = async () => `Bearer ${await stack.login(username)}`;
  return {
    get: async (url: string) =>
      request(stack.app)
        .get(url)
        .set('Authorization', await auth()),
    post: async (url: string, body?: unknown) =>
      request(stack.app)
        .post(url)
        .set('Authorization', await auth())
        .send(body as object),
  };
}

export const ZHANG = 'G520302201505050014'; // 张小明, 红花岗区第一小学
export const LI = 'G520302201508120022'; // 李华, 红花岗区第一小学
export const WANG = 'G511922201403010035'; // 王芳, 南江县实验小学
export const ZHAO = 'G520302201601010047'; // 赵磊, 红花岗区第二小学, 休学

/** An effective date a week from today: tests must not expire with the calendar (dates are checked ±1 year). */
export const SOON = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);

/** Polls `check` until it returns something truthy (or throws its last error after `timeoutMs`). */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  what = 'condition',
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until a worker runs the case's workflow and answers for it. A worker that has just started takes a while over
 * its first workflow task (its sandbox), longer than a short decision budget on a busy machine; tests whose subject
 * is not that start wait here first.
 */
export const untilWorkflowAnswers = (stack: Pick<TestStack, 'temporal'>, id: number) =>
  waitFor(
    () =>
      stack.temporal.workflow
        .getHandle(workflowIdFor(id))
        .query(stateQuery)
        .catch(() => null),
    60_000,
    `the workflow of case ${id} to answer`,
  );

/**
 * 红花岗区 → 南江县 under settings/review-levels.example.json: the eight stages in the national order, each with the
 * demo user who decides it.
 */
export const EIGHT_STAGES: readonly (readonly [stage: string, user: string])[] = [
  ['RECEIVING_SCHOOL', 'nj.s1'],
  ['RECEIVING_COUNTY', 'nj.edu'],
  ['RECEIVING_CITY', 'bz.edu'],
  ['RECEIVING_PROVINCE', 'sc.edu'],
  ['SENDING_SCHOOL', 'hhg.s1'],
  ['SENDING_COUNTY', 'hhg.edu'],
  ['SENDING_CITY', 'zy.edu'],
  ['SENDING_PROVINCE', 'gz.edu'],
];

/** 红花岗区 → 南江县 with no review levels above the county: the four stages, each with the demo user who decides it. */
export const FOUR_STAGES: readonly (readonly [stage: string, user: string])[] = [
  ['RECEIVING_SCHOOL', 'nj.s1'],
  ['RECEIVING_COUNTY', 'nj.edu'],
  ['SENDING_SCHOOL', 'hhg.s1'],
  ['SENDING_COUNTY', 'hhg.edu'],
];

/** An enrolled pupil of 红花岗区第一小学 (not 张小明 or 李华) with no case yet, first by 学籍号. */
export const aPupilWithoutCases = (prisma: PrismaClient) =>
  prisma.student.findFirstOrThrow({
    where: {
      schoolCode: '5203020001',
      status: 'ENROLLED',
      studentNo: { notIn: [ZHANG, LI] },
      applications: { none: {} },
    },
    orderBy: { studentNo: 'asc' },
  });

/**
 * Registers a new pupil (新生建籍) at the caller's school, with a valid ID number from 110105 (北京市朝阳区), the
 * birth date and a three-digit serial (its last digit odd for a boy, even for a girl).
 */
export function registerPupil(
  stack: TestStack,
  user: string,
  p: { name: string; gender: 'MALE' | 'FEMALE'; birthDate: string; serial: string; grade: number; className: string },
) {
  const first17 = `110105${p.birthDate.replaceAll('-', '')}${p.serial}`;
  const { serial: _serial, ...fields } = p;
  return as(stack, user).post('/api/students', { ...fields, idNumber: first17 + idCheckChar(first17) });
}

/** Files a transfer into the caller's school. */
export const fileTransfer = (stack: TestStack, user: string, studentNo: string, extra: Record<string, unknown> = {}) =>
  as(stack, user).post('/api/applications', {
    type: 'TRANSFER',
    studentNo,
    reason: '随父母工作调动',
    effectiveDate: SOON,
    ...extra,
  });

/** Sends a decision on a case's stage. */
export const decideAs = (
  stack: TestStack,
  user: string,
  id: number,
  stage: string,
  decision = 'APPROVE',
  comment?: string,
) => as(stack, user).post(`/api/applications/${id}/decisions`, { stage, decision, comment });
