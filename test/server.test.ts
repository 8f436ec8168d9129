import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../config';
import { startApi } from '../api/server';
import { createPrisma } from '../infra/db';
import { createLogger } from '../infra/logger';
import { freePort } from './support/ports';

// `npm start` prints "学籍异动 is running" once startApi returns. Express 5 calls listen's callback on failure too;
// a port another program holds must stop start-up, not leave that program answering the clerks' requests.
test('the API refuses to start on a port another program holds', async () => {
  const port = await freePort();
  const other = net.createServer().listen(port, '127.0.0.1');
  await new Promise((r) => other.once('listening', r));
  const prisma = createPrisma(process.env.TEST_PG_ADMIN_URL!, 1);
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: String(port),
      DATA_DIR: path.join(process.env.TEST_WORK_DIR!, 'server-port'),
      RECONCILE_INTERVAL_MS: '600000',
    });
    await expect(
      startApi({ config, prisma, temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!, logger: createLogger('silent') }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  } finally {
    other.close();
    await prisma.$disconnect();
  }
});
