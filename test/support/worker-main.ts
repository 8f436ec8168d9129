// A worker in its own process, so a test can kill it with SIGKILL the way a crash would.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createPrisma } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { createMailer } from '../../infra/mailer';
import { startMailDispatcher } from '../../infra/mail-dispatcher';
import { createWorker } from '../../worker';

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const logger = createLogger('silent');
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: process.env.TASK_QUEUE!,
    activities: createActivities({ prisma, logger }),
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    failures: { prisma, logger },
  });
  startMailDispatcher({
    databaseUrl: process.env.DATABASE_URL!,
    mailer: createMailer({
      SMTP_URL: undefined,
      DATA_DIR: process.env.TEST_WORK_DIR!,
      MAIL_FROM: 'test <t@xueji.local>',
    }),
    logger,
    pollMs: 500,
  });
  const running = worker.run();
  console.log('worker ready');
  await running;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
