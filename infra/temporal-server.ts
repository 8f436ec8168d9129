// The real Temporal server — not the dev server — on Postgres persistence and visibility, as production runs it.
// No binary of it is on npm or in Debian, so it is built from the Go module proxy (go.temporal.io/server, the
// version docker-compose.yml names) and cached under .tools/, like the Temporal CLI. Its schema is set up by the
// server's own temporal-sql-tool from the schema files the module ships. Used by `npm run test:production`,
// `npm run test:backup` and `npx tsx scripts/temporal-server.ts`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePortInRange } from './ports';
import { waitForTemporal } from './temporal';

const ROOT = path.resolve(__dirname, '..');
/** Must match the `temporalio/server` and `temporalio/admin-tools` tags in docker-compose.yml (a test checks). */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const TOOLS = path.join(ROOT, '.tools', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
/** The dynamic config shared with docker-compose.yml (mounted into the server container there). */
export const DYNAMIC_CONFIG_FILE = path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig.yaml');
/** History shards are fixed when a cluster is created; 4 suits a county (README: sizing). Compose uses the same. */
export const DEFAULT_HISTORY_SHARDS = 4;

export interface TemporalServerTools {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 copied out of the Go module. */
  schemaDir: string;
}

function goBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  return fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null;
}

function tools(dir: string): TemporalServerTools {
  return {
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
}

/**
 * The server and temporal-sql-tool binaries, built once with Go into .tools/temporal-server-<version>. `go install
 * …@version` refuses the server module (its go.mod has `replace` lines); building from a module of our own that
 * requires it works, so that is what this does. Minutes the first time; Go's build cache makes a rebuild fast.
 */
export function buildTemporalServer(log: (m: string) => void = console.log): TemporalServerTools {
  const t = tools(TOOLS);
  if ([t.server, t.sqlTool, t.schemaDir].every((p) => fs.existsSync(p))) return t;
  const go = goBinary();
  if (!go) {
    throw new Error(
      `Go is needed once to build the Temporal server ${TEMPORAL_SERVER_VERSION} (apt-get install golang, or /usr/local/go)`,
    );
  }
  log(
    `building the Temporal server ${TEMPORAL_SERVER_VERSION} with Go into ${path.relative(ROOT, TOOLS)} (first time only, minutes)…`,
  );
  const src = path.join(TOOLS, 'src');
  fs.mkdirSync(src, { recursive: true });
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' };
  const go_ = (args: string[]) => {
    const r = spawnSync(go, args, { cwd: src, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed (${r.status})`);
  };
  if (!fs.existsSync(path.join(src, 'go.mod'))) go_(['mod', 'init', 'xueji.local/temporal-server-build']);
  const v = `v${TEMPORAL_SERVER_VERSION}`;
  go_(['get', `go.temporal.io/server/cmd/server@${v}`, `go.temporal.io/server/cmd/tools/sql@${v}`]);
  go_(['build', '-o', t.server, 'go.temporal.io/server/cmd/server']);
  go_(['build', '-o', t.sqlTool, 'go.temporal.io/server/cmd/tools/sql']);
  const moduleDir = spawnSync(go, ['list', '-m', '-f', '{{.Dir}}', 'go.temporal.io/server'], {
    cwd: src,
    env,
    encoding: 'utf8',
  }).stdout.trim();
  fs.cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), t.schemaDir, { recursive: true });
  // The module cache is read-only; the copy need not be.
  spawnSync('chmod', ['-R', 'u+w', t.schemaDir]);
  return t;
}

export interface TemporalDb {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The schema script docker-compose.yml's `temporal-schema` job runs, run here with our binaries. */
export const SETUP_SCHEMA_SCRIPT = path.join(ROOT, 'deploy', 'temporal', 'setup-schema.sh');

/**
 * Creates both databases (if missing) and brings their schemas to this server version (deploy/temporal/
 * setup-schema.sh: `setup-schema -v 0.0`, then `update-schema` from the versioned directory). Idempotent.
 */
export function setupTemporalSchema(t: TemporalServerTools, db: TemporalDb): void {
  const r = spawnSync('sh', [SETUP_SCHEMA_SCRIPT], {
    encoding: 'utf8',
    env: {
      ...process.env,
      SQL_TOOL: t.sqlTool,
      SCHEMA_DIR: t.schemaDir,
      SQL_HOST: db.host,
      SQL_PORT: String(db.port),
      SQL_USER: db.user,
      SQL_PASSWORD: db.password,
    },
  });
  if (r.status !== 0) throw new Error(`setting up the Temporal schema failed: ${(r.stderr || r.stdout).slice(-2000)}`);
}

export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

/** The server's static config (the shape of config/development-postgres12.yaml), on our ports and database. */
export function serverConfigYaml(db: TemporalDb, ports: TemporalServerPorts, historyShards: number): string {
  const store = (database: string, maxConns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${JSON.stringify(database)}
        connectAddr: ${JSON.stringify(`${db.host}:${db.port}`)}
        connectProtocol: tcp
        user: ${JSON.stringify(db.user)}
        password: ${JSON.stringify(db.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  return `# Written by infra/temporal-server.ts
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${historyShards}
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 5)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: 127.0.0.1:${ports.metrics}
services:
  frontend:${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:${ports.frontend}
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${JSON.stringify(DYNAMIC_CONFIG_FILE)}
  pollInterval: 10s
`;
}

/** Free ports for every service of one server (all below 32768: see freePortInRange). */
export async function temporalServerPorts(): Promise<TemporalServerPorts> {
  const taken = new Set<number>();
  const keys: (keyof TemporalServerPorts)[] = [
    'frontend',
    'frontendHttp',
    'frontendMembership',
    'history',
    'historyMembership',
    'matching',
    'matchingMembership',
    'worker',
    'workerMembership',
    'metrics',
  ];
  const ports = {} as TemporalServerPorts;
  for (const k of keys) ports[k] = await freePortInRange(20_000, 32_767, taken);
  return ports;
}

export interface RunningTemporalServer {
  address: string;
  metricsUrl: string;
  process: ChildProcess;
  /** SIGTERM (graceful) by default; SIGKILL to crash it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts temporal-server with a config written under `dir` and waits until the frontend answers. */
export async function startTemporalServer(opts: {
  tools: TemporalServerTools;
  db: TemporalDb;
  ports: TemporalServerPorts;
  dir: string;
  historyShards?: number;
  log?: (line: string) => void;
}): Promise<RunningTemporalServer> {
  const configDir = path.join(opts.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(
    path.join(configDir, 'production.yaml'),
    serverConfigYaml(opts.db, opts.ports, opts.historyShards ?? DEFAULT_HISTORY_SHARDS),
  );
  const child = spawn(
    opts.tools.server,
    ['--root', opts.dir, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = opts.log ?? (() => undefined);
  for (const s of [child.stdout!, child.stderr!]) {
    s.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) log(line);
    });
  }
  const address = `127.0.0.1:${opts.ports.frontend}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal-server exited early with code ${code}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForTemporal(address, 120_000), exited]);
  return {
    address,
    metricsUrl: `http://127.0.0.1:${opts.ports.metrics}/metrics`,
    process: child,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill(signal);
      }),
  };
}
