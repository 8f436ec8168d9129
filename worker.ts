import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { durationMs } from './config';
import type { Connection as ClientConnection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config';
import { createActivities, type Activities } from './activities';
import { createPrisma, type PrismaClient } from './infra/db';
import { loadDeadlinePolicy } from './infra/deadlines';
import { createLogger } from './infra/logger';
import { createMailer } from './infra/mailer';
import { startMailDispatcher, type MailDispatcher } from './infra/mail-dispatcher';
import { failureRecorder } from './activities/failures';
import { SEARCH_ATTRIBUTES } from './workflows/messages';

export interface WorkerParams {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** Tests pass a prebuilt bundle; otherwise the worker bundles ./workflows itself. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Where failing activities are recorded for the stuck view (activities/failures.ts). */
  failures?: { prisma: PrismaClient; logger: Logger };
  /**
   * Workflows kept in memory between their tasks (WORKER_MAX_CACHED_WORKFLOWS). A case out of the cache is replayed
   * from its short history on its next task, so memory is bounded by this, not by the number of open cases.
   */
  maxCachedWorkflows?: number;
}

export function createWorker(p: WorkerParams): Promise<Worker> {
  return Worker.create({
    connection: p.connection,
    namespace: p.namespace,
    taskQueue: p.taskQueue,
    activities: p.activities,
    ...(p.workflowBundle ? { workflowBundle: p.workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    ...(p.failures ? { interceptors: { activity: [failureRecorder(p.failures.prisma, p.failures.logger)] } } : {}),
    ...(p.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: p.maxCachedWorkflows } : {}),
  });
}

/** The activities as configured: time limits from DEADLINES_FILE, links in mail to APP_URL. */
export function activitiesFromConfig(config: Config, prisma: PrismaClient, logger: Logger): Activities {
  return createActivities({
    prisma,
    logger,
    deadlines: loadDeadlinePolicy(config.DEADLINES_FILE),
    appUrl: config.APP_URL ?? `http://localhost:${config.PORT}`,
  });
}

/** The mail dispatcher beside a worker: the outbox sent through SMTP_URL (or as .eml files), MAIL_LEASE per claim. */
export function dispatcherFromConfig(config: Config, databaseUrl: string, logger: Logger): MailDispatcher {
  return startMailDispatcher({
    databaseUrl,
    mailer: createMailer(config),
    logger,
    leaseMs: durationMs(config.MAIL_LEASE),
  });
}

/**
 * Registers our search attributes on a cluster that does not have them yet (the dev server gets them
 * from its command line; a production cluster through the operator service, here).
 */
export async function ensureSearchAttributes(connection: ClientConnection, namespace: string): Promise<void> {
  const { IndexedValueType } = temporal.api.enums.v1;
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.filter((sa) => !have.has(sa.name));
  if (missing.length === 0) return;
  const type = (t: string) =>
    t === 'BOOL' ? IndexedValueType.INDEXED_VALUE_TYPE_BOOL : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((sa) => [sa.name, type(sa.type)])),
  });
}

async function main() {
  const config = loadConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('独立运行 worker 需要 DATABASE_URL 和 TEMPORAL_ADDRESS（npm start 会自动提供）');
  }
  const logger = createLogger(config.LOG_LEVEL);
  const prisma = createPrisma(config.DATABASE_URL);
  const { Connection: ClientConn } = await import('@temporalio/client');
  const admin = await ClientConn.connect({ address: config.TEMPORAL_ADDRESS });
  await ensureSearchAttributes(admin, config.TEMPORAL_NAMESPACE);
  await admin.close();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: activitiesFromConfig(config, prisma, logger),
    failures: { prisma, logger },
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  });
  const dispatcher = dispatcherFromConfig(config, config.DATABASE_URL, logger);
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker started');
  try {
    await worker.run(); // returns after SIGINT/SIGTERM (the SDK installs the signal handlers)
  } finally {
    await dispatcher.stop();
    await connection.close();
    await prisma.$disconnect();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
