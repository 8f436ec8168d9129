import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { missingSearchAttributes } from '../infra/temporal-namespace';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';
import { baseEnv, Service } from './support/processes';
import { uid, waitFor } from './support/stack';

// Worker replicas never register search attributes (they would race): the one-shot temporal-setup job does, and a
// worker started against a namespace without them refuses to start, naming what is missing. The namespace here is a
// fresh one on this run's dev server — the dev server gives its flags' search attributes to `default` only.

let connection: Connection;
const bare = `xueji-bare-${uid()}`;

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  await connection.workflowService.registerNamespace({
    namespace: bare,
    workflowExecutionRetentionPeriod: msToTs(86_400_000),
  });
  // The frontend learns of a new namespace when it refreshes its cache.
  await waitFor(
    () =>
      connection.operatorService.listSearchAttributes({ namespace: bare }).then(
        () => true,
        () => false,
      ),
    30_000,
    `namespace ${bare}`,
  );
}, 60_000);

afterAll(async () => {
  await connection?.close();
});

test('missingSearchAttributes: none on the namespace the dev server was given them for, all of ours on a fresh one', async () => {
  expect(await missingSearchAttributes(connection, 'default')).toEqual([]);
  expect(await missingSearchAttributes(connection, bare)).toEqual(SEARCH_ATTRIBUTES.map((sa) => sa.name));
});

test('worker.ts refuses to start on a namespace without our search attributes, naming each and the job that adds them', async () => {
  const worker = new Service({
    name: 'worker',
    script: 'worker.ts',
    env: {
      ...baseEnv(),
      NODE_ENV: 'test',
      // Nothing listens here: the check comes before any database work.
      DATABASE_URL: 'postgresql://nobody:nothing@127.0.0.1:9/none',
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_NAMESPACE: bare,
      LOG_LEVEL: 'info',
    },
    ready: /"msg":"worker started"/,
    readyTimeoutMs: 60_000,
  });
  const started = worker.start();
  await expect(started).rejects.toThrow(/exited \(code 1\) before it was ready/);
  const message = String(await started.catch((e: Error) => e.message));
  expect(message).toContain(`命名空间 ${bare} 缺少搜索属性`);
  for (const sa of SEARCH_ATTRIBUTES) expect(message).toContain(sa.name);
  expect(message).toContain('temporal-setup.js');
  expect(worker.running).toBe(false);
}, 90_000);
