import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FALLBACK_PG_ROOT } from '../infra/environment';
import { freePortInRange } from '../infra/ports';
import { baseEnv, Service } from './support/processes';

// County IT rooms often run servers as root from /root: `npm start` in a clone under a private (0700) directory must
// come up — Postgres, which runs as the `postgres` user, cannot reach that directory, so its data goes where that user
// can, and the console says where. Only root meets this case (initdb runs as `postgres` only then).

const ROOT = path.resolve(__dirname, '..');
const asRoot = process.getuid?.() === 0;

/** A copy of this working tree (tracked and new files, timestamps kept) with node_modules and builds hard-linked. */
function cloneInto(dest: string) {
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .stdout.split('\0')
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.cpSync(path.join(ROOT, f), path.join(dest, f), { preserveTimestamps: true });
  }
  // Installed and built once already: hard links cost no space and keep their timestamps, so the bootstrap finds
  // nothing stale. They still live under the private directory, as in a real clone.
  for (const dir of ['node_modules', 'generated', path.join('web', 'dist'), path.join('web', 'src', 'generated')]) {
    if (!fs.existsSync(path.join(ROOT, dir))) continue;
    const r = spawnSync('cp', ['-al', path.join(ROOT, dir), path.join(dest, dir)]);
    if (r.status !== 0) throw new Error(`cp -al ${dir} failed`);
  }
}

(asRoot ? describe : describe.skip)('npm start as root in a clone under a 0700 directory', () => {
  let priv: string;
  let service: Service | null = null;
  let fallback: string | null = null;

  afterAll(async () => {
    await service?.close();
    if (fallback) fs.rmSync(fallback, { recursive: true, force: true });
    if (priv) fs.rmSync(priv, { recursive: true, force: true });
  });

  test('starts, says where Postgres keeps its data, and is ready', async () => {
    priv = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-private-'));
    fs.chmodSync(priv, 0o700);
    const clone = path.join(priv, 'xueji');
    cloneInto(clone);
    const [port, pgPort, temporalPort, uiPort] = await Promise.all([
      freePortInRange(10_000, 14_999),
      freePortInRange(15_000, 19_999),
      freePortInRange(20_000, 32_000),
      freePortInRange(20_000, 32_000),
    ]);
    let output = '';
    service = new Service({
      name: 'npm-start',
      command: 'npm',
      args: ['start'],
      cwd: clone,
      env: {
        ...baseEnv(),
        PORT: String(port),
        EMBEDDED_PG_PORT: String(pgPort),
        TEMPORAL_PORT: String(temporalPort),
        TEMPORAL_UI_PORT: String(uiPort),
        LOG_LEVEL: 'warn',
      },
      ready: /学籍异动 is running/,
      readyTimeoutMs: 240_000,
      logFile: path.join(os.tmpdir(), `xueji-start-as-root-${port}.log`),
      onEvent: (line) => (output += `${line}\n`),
    });
    try {
      await service.start();
    } finally {
      output += fs.readFileSync(path.join(os.tmpdir(), `xueji-start-as-root-${port}.log`), 'utf8');
    }
    const pointer = path.join(clone, 'data', 'pg-location');
    expect(fs.existsSync(pointer)).toBe(true);
    fallback = fs.readFileSync(pointer, 'utf8').trim();
    expect(fallback.startsWith(`${FALLBACK_PG_ROOT}/`)).toBe(true);
    expect(fs.existsSync(path.join(fallback, 'PG_VERSION'))).toBe(true);
    // Said on the console, with both places named.
    expect(output).toContain(`cannot reach ${path.join(clone, 'data')}`);
    expect(output).toContain(fallback);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', db: 'ok', temporal: 'ok' });
    // The demo data went into that database: the API answers a login.
    const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'demo-password' }),
    });
    expect(login.status).toBe(200);
  }, 300_000);
});
