// The bare chain's worker, a process of its own (so its CPU and memory are read apart from the app's):
// BENCH_BARE_DB (a Postgres URL), TEMPORAL_ADDRESS, BENCH_BARE_QUEUE.
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { Pool } from 'pg';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const pool = new Pool({ connectionString: process.env.BENCH_BARE_DB, max: 10 });
  await pool.query('create table if not exists bare_case (id bigint primary key, step int not null)');
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.BENCH_BARE_QUEUE ?? 'bench-bare',
    workflowsPath: require.resolve('./bare-workflow'),
    activities: {
      async touch(id: number, step: number) {
        await pool.query(
          'insert into bare_case (id, step) values ($1, $2) on conflict (id) do update set step = excluded.step',
          [id, step],
        );
      },
    },
  });
  console.log('bare worker ready');
  await worker.run();
  await pool.end();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
