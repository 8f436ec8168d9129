import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT, SETTINGS_FILE_KEYS } from '../config';
import { takeBackup, verifyBackup } from '../infra/backup';
import { ensureCommands } from '../infra/system-packages';
import { createTestDatabase, type TestDatabase } from './support/stack';

// `npm run backup` at the scale of one file: the settings and the token key it saves, against this run's Postgres
// and a stand-in for the dev server's SQLite file. The whole round trip (restore, running cases) is test:backup's.

let db: TestDatabase;
let work: string;

beforeAll(async () => {
  db = await createTestDatabase();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-backup-'));
}, 60_000);

afterAll(async () => {
  await db.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('a backup saves every settings file config names, also outside settings/, and the generated token key', async () => {
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  const { sqlite3 } = ensureCommands([{ command: 'sqlite3', aptPackage: 'sqlite3' }]);
  expect(spawnSync(sqlite3, [path.join(dataDir, 'temporal.db'), 'create table t (x)']).status).toBe(0);
  fs.writeFileSync(path.join(dataDir, 'jwt-secret'), 'k'.repeat(64));
  // Each settings file moved out of settings/, its content marked so that its copy can be told apart.
  const elsewhere = path.join(work, 'province');
  fs.mkdirSync(elsewhere);
  const moved = Object.fromEntries(
    SETTINGS_FILE_KEYS.map((key) => {
      const file = path.join(elsewhere, `${key.toLowerCase()}.json`);
      fs.writeFileSync(file, JSON.stringify({ key }));
      return [key, file];
    }),
  );
  expect(Object.keys(moved)).toEqual(expect.arrayContaining(['REASON_CODES_FILE', 'REVIEW_LEVELS_FILE']));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, ...moved });

  const to = path.join(work, 'backup');
  const m = await takeBackup(config, { to, databaseUrl: db.url, log: () => undefined });

  for (const [key, file] of Object.entries(moved)) {
    const entry = m.settings.find((s) => s.source === file);
    expect([key, entry?.file]).toEqual([key, expect.stringMatching(/^settings\/external-/)]);
    expect(fs.readFileSync(path.join(to, entry!.file), 'utf8')).toBe(JSON.stringify({ key }));
    expect(m.files.map((f) => f.path)).toContain(entry!.file);
  }
  // settings/ itself, wherever the variables point, byte for byte.
  for (const name of fs.readdirSync(path.join(PROJECT_ROOT, 'settings'))) {
    const entry = m.settings.find((s) => s.source === path.join('settings', name));
    expect([name, entry?.file]).toEqual([name, path.join('settings', name)]);
    expect(fs.readFileSync(path.join(to, entry!.file))).toEqual(
      fs.readFileSync(path.join(PROJECT_ROOT, 'settings', name)),
    );
  }
  expect(m.tokenKey).toEqual({ file: 'secrets/jwt-secret' });
  expect(m.files.find((f) => f.path === 'secrets/jwt-secret')?.secret).toBe(true);
  expect(verifyBackup(to).files).toEqual(m.files);
}, 60_000);
