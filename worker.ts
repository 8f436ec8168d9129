import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { Connection as ClientConnection } from '@temporalio/client';
import type { Logger } from 'pino';
import { durationMs, loadConfig, type Config } from './config';
import { createActivities, type Activities } from './activities';
import { failureRecorder } from './activities/failures';
import { createPrisma, type PrismaClient } from './infra/db';
import { loadDeadlinePolicy } from './infra/deadlines';
import { createLogger } from './infra/logger';
import { startMailDispatcher, type MailDispatcher } from './infra/mail-dispatcher';
import { createMailer } from './infra/mailer';
import { missingSearchAttributes } from './infra/temporal-namespace';

export interface WorkerParams {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** Tests pass their own bundle; otherwise the prebuilt one (WORKFLOW_BUNDLE). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Where failing activities are recorded for the stuck view (activities/failures.ts). */
  failures?: { prisma: PrismaClient; logger: Logger };
  /**
   * Workflows kept in memory between their tasks (WORKER_MAX_CACHED_WORKFLOWS). A case out of the cache is replayed
   * from its short history on its next task, so memory is bounded by this, not by the number of open cases.
   */
  maxCachedWorkflows?: number;
  /** Local activities (the workflow's writes) run at once (WORKER_MAX_LOCAL_ACTIVITIES); the SDK's default is 100. */
  maxLocalActivities?: number;
}

/**
 * The workflows bundled ahead of time by scripts/build.js: generated/ beside this file, in a checkout (the
 * bootstrap rebuilds it when workflows/ or domain/ change) and in dist/ alike. A worker never bundles in its own
 * process: webpack would cost the long-running process memory and start-up time for nothing.
 */
export const WORKFLOW_BUNDLE = path.join(__dirname, 'generated', 'workflow-bundle.js');

export function createWorker(p: WorkerParams): Promise<Worker> {
  if (!p.workflowBundle && !fs.existsSync(WORKFLOW_BUNDLE)) {
    throw new Error(
      `没有预先打包的工作流 (no prebuilt workflow bundle at ${WORKFLOW_BUNDLE}): run node scripts/build.js --workflows (npm start does)`,
    );
  }
  return Worker.create({
    connection: p.connection,
    namespace: p.namespace,
    taskQueue: p.taskQueue,
    activities: p.activities,
    workflowBundle: p.workflowBundle ?? { codePath: WORKFLOW_BUNDLE },
    ...(p.failures ? { interceptors: { activity: [failureRecorder(p.failures.prisma, p.failures.logger)] } } : {}),
    ...(p.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: p.maxCachedWorkflows } : {}),
    ...(p.maxLocalActivities !== undefined ? { maxConcurrentLocalActivityExecutions: p.maxLocalActivities } : {}),
  });
}

/**
 * The SDK's process-wide runtime: its log level, and — when `metricsPort` is set — the Temporal core's own metrics
 * (workflow/activity task latencies, poll results, sticky cache, slots …) served in Prometheus format on that port.
 */
export function installWorkerRuntime(opts: { metricsPort?: number; shutdownSignals?: NodeJS.Signals[] } = {}): void {
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
    ...(opts.metricsPort !== undefined
      ? {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress: `0.0.0.0:${opts.metricsPort}`, useSecondsForDurations: true } },
          },
        }
      : {}),
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

async function main() {
  const config = loadConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('独立运行 worker 需要 DATABASE_URL 和 TEMPORAL_ADDRESS（npm start 会自动提供）');
  }
  installWorkerRuntime({ metricsPort: config.WORKER_METRICS_PORT });
  const logger = createLogger(config.LOG_LEVEL);
  const prisma = createPrisma(config.DATABASE_URL);
  // Replicas do not register search attributes (they would race): the one-shot `temporal-setup` job does.
  const admin = await ClientConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const missing = await missingSearchAttributes(admin, config.TEMPORAL_NAMESPACE).finally(() => admin.close());
  if (missing.length > 0) {
    throw new Error(
      `命名空间 ${config.TEMPORAL_NAMESPACE} 缺少搜索属性 (missing search attributes: ${missing.join(', ')}): run node dist/scripts/temporal-setup.js first`,
    );
  }
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: activitiesFromConfig(config, prisma, logger),
    failures: { prisma, logger },
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    maxLocalActivities: config.WORKER_MAX_LOCAL_ACTIVITIES,
  });
  const dispatcher = dispatcherFromConfig(config, config.DATABASE_URL, logger);
  logger.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, metricsPort: config.WORKER_METRICS_PORT ?? null },
    'worker started',
  );
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
