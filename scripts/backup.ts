// `npm run backup -- --to DIR`: Temporal first, then the app database, attachments, settings and the token key, with
// a manifest of checksums (infra/backup.ts). Safe while the system runs and cases move; README ("Backups") says what
// such a backup guarantees. The embedded Postgres of `npm start` is used where DATABASE_URL is unset (started for the
// backup if it is not running).
import { loadConfig } from '../config';
import { takeBackup } from '../infra/backup';
import { openDatabase } from '../infra/environment';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const to = option('to');
  if (!to) throw new Error('用法 (usage): npm run backup -- --to DIR');
  const config = loadConfig();
  const say = (m: string) => console.log(`[backup] ${m}`);
  const db = await openDatabase(config, say);
  try {
    const m = await takeBackup(config, {
      to,
      databaseUrl: db.url,
      log: say,
      // For tests: widens the gap between the two snapshots, so decisions land in it.
      pauseAfterTemporalMs: Number(option('pause-after-temporal') ?? 0),
    });
    const bytes = m.files.reduce((t, f) => t + f.bytes, 0);
    say(`done: ${m.files.length} files, ${(bytes / 1e6).toFixed(1)} MB in ${to} (manifest.json)`);
    if ('file' in m.tokenKey) say(`${m.tokenKey.file} is the token key: keep this backup where secrets are kept`);
  } finally {
    await db.stop();
  }
}

main().catch((err) => {
  console.error('[backup] failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
