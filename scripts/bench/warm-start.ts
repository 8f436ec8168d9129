// How long `npm start` takes to answer /healthz: once cold (new data directory), then warm (the same data, as on
// every later start). Its own ports and data directory, so it runs beside anything else.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../test/support/ports';

const ROOT = path.resolve(__dirname, '..', '..');

async function timeStart(env: Record<string, string>, log: (m: string) => void): Promise<number> {
  const t0 = Date.now();
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  // The embedded defaults: no external database or Temporal, whatever the bench itself was given.
  delete full.DATABASE_URL;
  delete full.TEMPORAL_ADDRESS;
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: full, stdio: 'ignore', detached: true });
  const url = `http://127.0.0.1:${env.PORT}/healthz`;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode})`);
      if (Date.now() - t0 > 600_000) throw new Error('npm start did not become healthy within 10 minutes');
      const ok = await fetch(url)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    // The whole group: npm, the app, and the Postgres and Temporal it started.
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // gone
    }
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, 30_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
    });
    log('npm start stopped');
  }
}

export async function measureWarmStart(work: string, log: (m: string) => void) {
  const env = {
    DATA_DIR: path.join(work, 'warm-start'),
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
  };
  const coldMs = await timeStart(env, log);
  log(`cold npm start: ${coldMs} ms to healthy`);
  const warmMs = await timeStart(env, log);
  log(`warm npm start: ${warmMs} ms to healthy`);
  return { coldMs, warmMs };
}
