// `npm start`: the whole system on one machine with embedded defaults — Postgres (embedded unless
// DATABASE_URL is set), migrations, demo data on an empty database, the Temporal dev server with its
// SQLite file under data/ (unless TEMPORAL_ADDRESS is set), the worker and the API. Ctrl-C stops it all.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { startApi } from '../api/server';
import { createPrisma } from '../infra/db';
import { openDatabase } from '../infra/environment';
import { createLogger } from '../infra/logger';
import { migrateDatabase } from '../infra/migrations';
import { isEmpty, seedDemoData } from '../infra/seed';
import { resolveTemporalCli, startDevServer, type DevServer } from '../infra/temporal';
import { prepareNamespace } from '../infra/temporal-namespace';
import { activitiesFromConfig, createWorker, dispatcherFromConfig, installWorkerRuntime } from '../worker';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const say = (m: string) => console.log(`[start] ${m}`);
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  // We stop the worker ourselves, in order, on Ctrl-C.
  installWorkerRuntime({ shutdownSignals: [], metricsPort: config.WORKER_METRICS_PORT });

  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    for (const stop of stops.reverse()) await stop().catch((e) => console.error(e));
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const db = await openDatabase(config, say);
    stops.push(() => db.stop());
    say(db.embedded ? `embedded Postgres: ${db.url.replace(/:[^:@/]+@/, ':***@')}` : 'using DATABASE_URL');

    const { applied, via } = await migrateDatabase(db.url, say);
    if (applied.length) say(`migrations applied (${via}): ${applied.join(', ')}`);
    const prisma = createPrisma(db.url);
    stops.push(() => prisma.$disconnect());
    if (await isEmpty(prisma)) {
      const counts = await seedDemoData(prisma, { history: true });
      say(
        `demo data loaded: ${counts.users} users, ${counts.pupils} pupils, ` +
          `${counts.history?.cases ?? 0} completed cases of the last months (password: demo-password)`,
      );
    }

    let temporalAddress = config.TEMPORAL_ADDRESS;
    let uiUrl = config.TEMPORAL_UI_URL ?? null;
    if (!temporalAddress) {
      const cli = resolveTemporalCli({ log: say });
      const temporalLog = fs.createWriteStream(path.join(config.DATA_DIR, 'temporal.log'), { flags: 'a' });
      stops.push(async () => temporalLog.end());
      const dev: DevServer = await startDevServer(cli, {
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: path.join(config.DATA_DIR, 'temporal.db'),
        // The dev server is chatty (transient shard errors on every restart): its log goes to a file.
        log: (m) => temporalLog.write(`${m}\n`),
      });
      stops.push(() => dev.stop());
      temporalAddress = dev.address;
      uiUrl = dev.uiUrl;
    }
    const admin = await Connection.connect({ address: temporalAddress });
    await prepareNamespace(admin, config.TEMPORAL_NAMESPACE, { log: say });
    await admin.close();

    const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      activities: activitiesFromConfig(config, prisma, logger),
      failures: { prisma, logger },
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
      maxLocalActivities: config.WORKER_MAX_LOCAL_ACTIVITIES,
    });
    const running = worker.run();
    running.catch((e) => {
      console.error('[start] worker stopped with an error', e);
      void stopAll(1);
    });
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await nativeConnection.close();
    });

    const dispatcher = dispatcherFromConfig(config, db.url, logger);
    stops.push(() => dispatcher.stop());

    const api = await startApi({ config, prisma, temporalAddress, logger, temporalUiUrl: uiUrl ?? undefined });
    stops.push(() => api.close());

    console.log('');
    console.log(`  学籍异动 is running`);
    console.log(`  Console      http://localhost:${api.port}/`);
    console.log(
      `  API          http://localhost:${api.port}/api   (OpenAPI: http://localhost:${api.port}/api/openapi.json)`,
    );
    console.log(
      `  Health       http://localhost:${api.port}/healthz (alive) · /readyz (Postgres and Temporal answer) · /metrics`,
    );
    if (uiUrl) console.log(`  Temporal UI  ${uiUrl}`);
    console.log(
      `  Demo users   admin, hhg.edu, nj.edu, hhg.s1, hhg.s2, nj.s1, nj.s2, zy.edu, gz.edu, bz.edu, sc.edu — password demo-password`,
    );
    console.log(`  Press Ctrl-C to stop.`);
    console.log('');
    releaseCompiler();
  } catch (e) {
    console.error('[start] could not start:', e instanceof Error ? e.message : e);
    await stopAll(1);
  }
}

/**
 * Under tsx (scripts/start.sh), each TypeScript module was compiled on load by esbuild, which keeps a worker thread
 * and a child process for the rest of the process's life (≈ 20 MB of RSS, README "Performance" → memory). Every module
 * of ours is loaded once the system runs (what loads later is plain JavaScript), so they are let go; a later compile
 * would start them again. Compiled JavaScript (the production image) has no esbuild to stop.
 */
function releaseCompiler() {
  try {
    const fromTsx = createRequire(require.resolve('tsx/package.json'));
    const esbuild = fromTsx('esbuild') as { stop(): Promise<void> };
    void esbuild.stop();
  } catch {
    // not run by tsx
  }
}

void main();
