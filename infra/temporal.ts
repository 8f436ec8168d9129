import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';

const ROOT = path.resolve(__dirname, '..');
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const LOCAL_CLI = path.join(ROOT, '.tools', 'bin', 'temporal');

function onPath(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : '';
  return found || null;
}

function goBinary(): string | null {
  return onPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH → `temporal` on PATH → .tools/bin/temporal → build it
 * with Go into .tools/bin (v1.5.1 is the newest tag that `go install` accepts) → null, in which case
 * the SDK's test environment downloads it (works on a machine with internet access).
 */
export function resolveTemporalCli(opts: { build?: boolean; log?: (m: string) => void } = {}): string | null {
  const log = opts.log ?? ((m: string) => console.log(m));
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} 不存在 (does not exist)`);
    return fromEnv;
  }
  const found = onPath('temporal');
  if (found) return found;
  if (fs.existsSync(LOCAL_CLI)) return LOCAL_CLI;
  if (opts.build === false) return null;
  const go = goBinary();
  if (!go) return null;
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into .tools/bin (first time only, a few minutes)…`);
  const r = spawnSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: path.dirname(LOCAL_CLI), GOFLAGS: '-mod=mod' },
    stdio: 'inherit',
  });
  if (r.status !== 0 || !fs.existsSync(LOCAL_CLI)) {
    log('building the Temporal CLI failed; falling back to the SDK download');
    return null;
  }
  return LOCAL_CLI;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** SIGTERM (a clean shutdown) unless told otherwise; tests crash it with SIGKILL. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The underlying process (null when the SDK started it). */
  process: ChildProcess | null;
}

export interface DevServerOptions {
  port: number;
  uiPort?: number | null;
  /** SQLite file; unset = in memory (tests). */
  dbFile?: string;
  log?: (m: string) => void;
  /** Extra `--sqlite-pragma` values, e.g. synchronous=OFF for throwaway servers. */
  pragmas?: string[];
}

/** Flags shared by our own spawn and the SDK fallback. */
function commonArgs(o: DevServerOptions): string[] {
  const args: string[] = [];
  const pragmas = o.dbFile ? ['journal_mode=WAL', ...(o.pragmas ?? ['synchronous=NORMAL'])] : (o.pragmas ?? []);
  for (const p of pragmas) args.push('--sqlite-pragma', p);
  for (const sa of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${sa.name}=${sa.cliType}`);
  // Flags a workflow whose tasks keep failing (TemporalReportedProblems) for the stuck-case view.
  args.push('--dynamic-config-value', 'system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=5');
  return args;
}

function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--log-level', 'warn'];
  args.push(...(o.uiPort ? ['--ui-port', String(o.uiPort)] : ['--headless']));
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  return [...args, ...commonArgs(o)];
}

export async function waitForTemporal(address: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await c.healthService.check({});
        return;
      } finally {
        await c.close();
      }
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not come up within ${timeoutMs} ms: ${String(lastError)}`);
}

/** Starts `temporal server start-dev` and waits until it answers. */
export async function startDevServer(cli: string | null, o: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${o.port}`;
  const uiUrl = o.uiPort ? `http://localhost:${o.uiPort}` : null;
  if (!cli) {
    // No CLI here and none could be built: let the SDK download one (needs internet).
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        port: o.port,
        ui: Boolean(o.uiPort),
        uiPort: o.uiPort ?? undefined,
        dbFilename: o.dbFile,
        extraArgs: commonArgs(o),
      },
    });
    return { address, uiUrl, process: null, stop: () => env.teardown() };
  }
  const child = spawn(cli, devServerArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = o.log ?? (() => undefined);
  child.stdout?.on('data', (d: Buffer) => log(d.toString().trim()));
  child.stderr?.on('data', (d: Buffer) => log(d.toString().trim()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server exited early with code ${code}`))),
  );
  await Promise.race([waitForTemporal(address), exited]);
  exited.catch(() => undefined);
  return {
    address,
    uiUrl,
    process: child,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill(signal);
      }),
  };
}
