import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Starts test/support/worker-main.ts in a child process and waits until it polls. */
export async function spawnWorker(env: { DATABASE_URL: string; TEMPORAL_ADDRESS: string; TASK_QUEUE: string }) {
  const child = spawn(process.execPath, [TSX, path.join(ROOT, 'test', 'support', 'worker-main.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: tsx runs the script in a child, and a crash must take both.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('worker ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${stderr}`)));
  });
  return child;
}

export function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    process.kill(-child.pid!, signal);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Supervised services: a project entry point (worker.ts, api/server.ts …) in its own Node process, started, killed
// and restarted the way a process manager and a crash would. Used by the chaos suite and by tests that need the
// production entry points as separate processes.

const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** Every process group a Service started that is still alive: killed if this process exits without stopping it. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** The environment a child needs to run at all (no inherited configuration: the caller says what it wants). */
export function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'TEMPORAL_CLI_PATH'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
}

export interface ServiceOptions {
  /** Name in logs and reports, e.g. `worker-1`. */
  name: string;
  /** A TypeScript entry point, relative to the project root, run with tsx's loader in a single Node process. */
  script?: string;
  /**
   * Or any executable, run with `args` as they are: e.g. another Node binary on a compiled entry point
   * (`node dist/worker.js`, as test:production runs the build), or nginx.
   */
  command?: string;
  args?: string[];
  /** Working directory (default: the project root). */
  cwd?: string;
  /** The child's whole environment (see baseEnv): config.ts reads it, nothing else is inherited. */
  env: Record<string, string>;
  /** The child is ready when a line of its output (stdout or stderr) matches. */
  ready: RegExp;
  /** How long a start may take before it counts as failed (default 60 s). */
  readyTimeoutMs?: number;
  /** Appends the child's output here, with a marker line at each start and exit. */
  logFile?: string;
  /** A crash nobody asked for (the process exited while it should run) is followed by a restart after delayMs. */
  restartOnCrash?: { delayMs: number };
  /** Told about starts, exits and restarts (one line each). */
  onEvent?: (line: string) => void;
}

/**
 * One supervised process. `start()` spawns it and waits until it says it is ready; `kill(signal)` sends the signal
 * to its process group and waits for the exit; an exit that was not asked for is counted in `crashes` and, with
 * `restartOnCrash`, followed by restarts until it is ready again.
 */
export class Service {
  private child: ChildProcess | null = null;
  /** Should be running: set by start(), cleared only by kill() and stop(). */
  private desired = false;
  private log: fs.WriteStream | null = null;
  /** Exits nobody asked for, with their exit code or signal. */
  readonly crashes: string[] = [];
  starts = 0;

  constructor(readonly opts: ServiceOptions) {
    installExitHook();
    if (opts.logFile) {
      fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
      this.log = fs.createWriteStream(opts.logFile, { flags: 'a' });
    }
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private note(line: string) {
    this.log?.write(`---- [${new Date().toISOString()}] ${this.opts.name}: ${line}\n`);
    this.opts.onEvent?.(`${this.opts.name}: ${line}`);
  }

  /** Spawns the process and resolves once it is ready; rejects (and kills it) if it exits or times out first. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.opts.name} is already running`);
    this.desired = true;
    this.starts += 1;
    const [file, argv] = this.opts.command
      ? [this.opts.command, this.opts.args ?? []]
      : [process.execPath, ['--import', TSX_LOADER, this.opts.script!, ...(this.opts.args ?? [])]];
    const child = spawn(file, argv, {
      cwd: this.opts.cwd ?? ROOT,
      env: this.opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a kill reaches anything it started.
      detached: true,
    });
    this.child = child;
    liveGroups.add(child.pid!);
    this.note(`started (pid ${child.pid})`);
    const timeoutMs = this.opts.readyTimeoutMs ?? 60_000;
    let tail = '';
    let ready = false;
    const readyPromise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
      const onData = (d: Buffer) => {
        this.log?.write(d);
        if (ready) return;
        tail = (tail + d.toString()).slice(-8000);
        if (this.opts.ready.test(tail)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`exited (${signal ?? `code ${code}`}) before it was ready: ${tail.slice(-1500)}`));
      });
    });
    child.once('exit', (code, signal) => {
      liveGroups.delete(child.pid!);
      // The group may outlive its leader (a grandchild): take it down too.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      const how = signal ?? `code ${code}`;
      if (this.child !== child || !ready) return; // a failed start is reported by start()
      if (!this.desired) return this.note(`stopped (${how})`);
      this.crashes.push(how);
      this.note(`exited unexpectedly (${how})`);
      const restart = this.opts.restartOnCrash;
      if (restart) {
        setTimeout(() => {
          if (this.desired && !this.running) this.startUntilReady(restart.delayMs).catch(() => undefined);
        }, restart.delayMs);
      }
    });
    try {
      await readyPromise;
    } catch (e) {
      await this.signal(child, 'SIGKILL');
      this.note(`start failed: ${(e as Error).message.split('\n')[0].slice(0, 300)}`);
      throw new Error(`${this.opts.name}: ${(e as Error).message}`, { cause: e });
    }
    this.note('ready');
  }

  /**
   * start(), tried again every `delayMs` until the process is ready (a dependency may still be down), unless it is
   * killed or stopped meanwhile or `timeoutMs` passes.
   */
  async startUntilReady(delayMs = 1000, timeoutMs = 5 * 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    this.desired = true;
    for (;;) {
      try {
        return await this.start();
      } catch (e) {
        if (!this.desired || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, delayMs));
        if (!this.desired) throw e;
        if (this.running) return; // someone else started it meanwhile
      }
    }
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, signal);
      } catch {
        resolve();
      }
    });
  }

  /** Sends `signal` to the process group (a crash: SIGKILL) and waits for the exit; no restart follows. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.desired = false;
    if (this.child) await this.signal(this.child, signal);
  }

  /** A clean stop: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.desired = false;
    const child = this.child;
    if (!child || !this.running) return;
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, graceMs);
    await this.signal(child, 'SIGTERM');
    clearTimeout(timer);
  }

  /** Stops the process and closes its log. */
  async close(): Promise<void> {
    await this.stop();
    const log = this.log;
    this.log = null;
    if (log) await new Promise<void>((resolve) => log.end(() => resolve()));
  }
}
