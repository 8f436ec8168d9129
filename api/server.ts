import type { Server } from 'node:http';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config';
import { createPrisma, type PrismaClient } from '../infra/db';
import { createLogger } from '../infra/logger';
import { tokenSecret } from '../infra/secrets';
import { loadRules } from '../infra/rules';
import { loadReasonCodes } from '../infra/reason-codes';
import { loadReviewLevels } from '../infra/review-levels';
import { buildApp } from './app';
import { answerClientErrors } from './hygiene';
import { TokenService } from './auth';
import { securitySettings } from './security';
import { reconcileClosedCases, reconcileWorkflows } from './services/applications';

export interface RunningApi {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on PORT and runs the reconciler. The Temporal connection is lazy, so the API comes up and
 * keeps accepting applications while Temporal is down; the reconciler starts their workflows later.
 */
export async function startApi(opts: {
  config: Config;
  prisma: PrismaClient;
  temporalAddress: string;
  logger: Logger;
  /** The Temporal UI the console links cases to; default TEMPORAL_UI_URL, else localhost on TEMPORAL_UI_PORT. */
  temporalUiUrl?: string;
}) {
  const { config, prisma, logger } = opts;
  const connection = Connection.lazy({ address: opts.temporalAddress });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const tokens = new TokenService(tokenSecret(config), config.ACCESS_TOKEN_TTL);
  const attachmentsDir = config.ATTACHMENTS_DIR ?? path.join(config.DATA_DIR, 'attachments');
  const rules = loadRules(config.RULES_FILE);
  const reasonCodes = loadReasonCodes(config.REASON_CODES_FILE);
  const reviewLevels = loadReviewLevels(config.REVIEW_LEVELS_FILE);
  const app = buildApp({
    prisma,
    temporal,
    config: { ...config, attachmentsDir },
    tokens,
    logger,
    rules,
    reasonCodes,
    reviewLevels,
    appUrl: config.APP_URL ?? `http://localhost:${config.PORT}`,
    security: securitySettings(config),
    console: {
      temporalUiUrl: opts.temporalUiUrl ?? config.TEMPORAL_UI_URL ?? `http://localhost:${config.TEMPORAL_UI_PORT}`,
      temporalNamespace: config.TEMPORAL_NAMESPACE,
    },
  });

  let reconciling: Promise<void> | null = null;
  const tick = async () => {
    if (reconciling) return;
    reconciling = reconcileWorkflows(prisma, temporal, config.TEMPORAL_TASK_QUEUE, logger)
      .then(() => reconcileClosedCases(prisma, temporal, logger))
      .then(() => undefined)
      .catch((e: unknown) => logger.warn({ err: String(e) }, 'reconciler tick failed'))
      .finally(() => {
        reconciling = null;
      });
    await reconciling;
  };
  const timer = setInterval(() => void tick(), config.RECONCILE_INTERVAL_MS);
  void tick();

  // Express 5 calls back on a failed listen too (EADDRINUSE): without the check the process would report itself
  // running while another program answers on its port.
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.PORT, (err?: Error) => (err ? reject(err) : resolve(s)));
  }).catch((e: unknown) => {
    clearInterval(timer);
    throw e;
  });
  answerClientErrors(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  return {
    server,
    port,
    close: async () => {
      clearInterval(timer);
      await reconciling; // a tick in flight finishes before the database pool closes
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connection.close();
    },
  } satisfies RunningApi;
}

async function main() {
  const config = loadConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('独立运行 API 需要 DATABASE_URL 和 TEMPORAL_ADDRESS（npm start 会自动提供）');
  }
  const logger = createLogger(config.LOG_LEVEL);
  const prisma = createPrisma(config.DATABASE_URL);
  const api = await startApi({ config, prisma, temporalAddress: config.TEMPORAL_ADDRESS, logger });
  logger.info({ port: api.port }, 'API listening');
  const stop = async () => {
    await api.close();
    await prisma.$disconnect();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
