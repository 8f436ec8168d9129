// `npx tsx scripts/temporal-server.ts [--port 7233] [--database-url postgresql://temporal:…@host:5432]`: the real
// Temporal server (not the dev server) on this machine — built once with Go into .tools/, its two databases set up
// by its own temporal-sql-tool (deploy/temporal/setup-schema.sh), the namespace and our search attributes registered
// — in the foreground until Ctrl-C. Without --database-url it runs its own Postgres 15 under data/temporal-pg.
// Then: TEMPORAL_ADDRESS=127.0.0.1:7233 npm start (or the worker and API of the compiled build).
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { loadConfig } from '../config';
import { startEmbeddedPostgres } from '../infra/postgres';
import { freePortInRange } from '../infra/ports';
import { prepareNamespace } from '../infra/temporal-namespace';
import {
  buildTemporalServer,
  setupTemporalSchema,
  startTemporalServer,
  temporalServerPorts,
  type TemporalDb,
} from '../infra/temporal-server';

const option = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const say = (m: string) => console.log(`[temporal-server] ${m}`);

async function main() {
  const config = loadConfig();
  const stops: (() => Promise<unknown>)[] = [];
  const dir = path.join(config.DATA_DIR, 'temporal-server');
  fs.mkdirSync(dir, { recursive: true });
  let db: TemporalDb;
  const url = option('database-url');
  if (url) {
    const u = new URL(url);
    db = {
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
    };
  } else {
    const pgPort = await freePortInRange(15_000, 19_999);
    const pg = await startEmbeddedPostgres({ dataDir: path.join(config.DATA_DIR, 'temporal-pg'), port: pgPort });
    stops.push(() => pg.stop());
    const c = new PgClient({ connectionString: pg.adminUrl });
    await c.connect();
    const exists = await c.query(`select 1 from pg_roles where rolname = 'temporal'`);
    if (!exists.rowCount) await c.query(`create role temporal login createdb password 'temporal'`);
    await c.end();
    db = { host: '127.0.0.1', port: pgPort, user: 'temporal', password: 'temporal' };
    say(`Postgres 15 for Temporal on 127.0.0.1:${pgPort} (${path.join(config.DATA_DIR, 'temporal-pg')})`);
  }
  const tools = buildTemporalServer(say);
  setupTemporalSchema(tools, db);
  const ports = { ...(await temporalServerPorts()), frontend: Number(option('port') ?? 7233) };
  const log = fs.createWriteStream(path.join(dir, 'temporal.log'), { flags: 'a' });
  const server = await startTemporalServer({ tools, db, ports, dir, log: (l) => log.write(`${l}\n`) });
  stops.push(() => server.stop());
  const connection = await Connection.connect({ address: server.address });
  await prepareNamespace(connection, config.TEMPORAL_NAMESPACE, { log: say });
  await connection.close();
  say(
    `ready: TEMPORAL_ADDRESS=${server.address} (log ${path.join(dir, 'temporal.log')}, metrics ${server.metricsUrl}). Ctrl-C stops it.`,
  );
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error('[temporal-server] failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
