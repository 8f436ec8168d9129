import path from 'node:path';
import type { Config } from '../config';
import { ensureDatabase, startEmbeddedPostgres } from './postgres';

export interface Database {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded Postgres under DATA_DIR/pg with a `xueji` database. */
export async function openDatabase(config: Config, log: (m: string) => void): Promise<Database> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => undefined };
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(config.DATA_DIR, 'pg'),
    port: config.EMBEDDED_PG_PORT,
    log: (m) => {
      if (/error|fatal|panic/i.test(m)) log(`[postgres] ${m}`);
    },
  });
  await ensureDatabase(pg.adminUrl, 'xueji');
  return { url: pg.urlFor('xueji'), embedded: true, stop: () => pg.stop() };
}
