import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { ensureDatabase, runAs, startEmbeddedPostgres } from './postgres';

export interface Database {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** Where the embedded Postgres keeps its data when DATA_DIR is out of the `postgres` user's reach (see below). */
export const FALLBACK_PG_ROOT = '/var/lib/xueji-postgres';
const POINTER = 'pg-location';

/** True when `uid` can enter `dir` (every directory on the way has search permission for it). */
function reachable(dir: string, as: { uid: number; gid: number }): boolean {
  return spawnSync('sh', ['-c', 'cd "$1"', 'sh', dir], { ...as, stdio: 'ignore' }).status === 0;
}

/**
 * The embedded Postgres's data directory: DATA_DIR/pg. Run as root, Postgres runs as the `postgres` user, which
 * cannot reach a clone under a private directory (/root/xueji, mode 0700): initdb would fail with "could not access
 * directory … Permission denied". Then the data goes to /var/lib/xueji-postgres/<id> (a directory that user can
 * reach, one per DATA_DIR), the choice is recorded in DATA_DIR/pg-location so every later start, backup and restore
 * uses it, and it is said on the console.
 */
export function embeddedDataDir(config: Pick<Config, 'DATA_DIR'>, log: (m: string) => void): string {
  const dataDir = path.resolve(config.DATA_DIR);
  const preferred = path.join(dataDir, 'pg');
  const pointer = path.join(dataDir, POINTER);
  if (fs.existsSync(pointer)) return fs.readFileSync(pointer, 'utf8').trim();
  const as = runAs();
  if (!as || fs.existsSync(path.join(preferred, 'PG_VERSION'))) return preferred;
  fs.mkdirSync(dataDir, { recursive: true });
  if (reachable(dataDir, as)) return preferred;
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const fallback = path.join(FALLBACK_PG_ROOT, id);
  fs.mkdirSync(FALLBACK_PG_ROOT, { recursive: true, mode: 0o755 });
  fs.writeFileSync(pointer, `${fallback}\n`);
  log(
    `Postgres runs as the "postgres" user, which cannot reach ${dataDir} (a private directory such as /root): ` +
      `its data is kept in ${fallback} instead (recorded in ${pointer})`,
  );
  return fallback;
}

/** DATABASE_URL when set; otherwise the embedded Postgres (embeddedDataDir) with a `xueji` database. */
export async function openDatabase(config: Config, log: (m: string) => void): Promise<Database> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => undefined };
  const pg = await startEmbeddedPostgres({
    dataDir: embeddedDataDir(config, log),
    port: config.EMBEDDED_PG_PORT,
    log: (m) => {
      if (/error|fatal|panic/i.test(m)) log(`[postgres] ${m}`);
    },
  });
  await ensureDatabase(pg.adminUrl, 'xueji');
  return { url: pg.urlFor('xueji'), embedded: true, stop: () => pg.stop() };
}
