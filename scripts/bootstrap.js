#!/usr/bin/env node
// Runs before `npm start`, `npm test` and `npm run bench` (npm's pre-scripts), with plain Node and no
// dependencies, so a fresh clone needs nothing but Node and npm: installs node_modules when missing or
// stale, generates the Prisma client offline, builds the web console and the workflow bundle when stale, and
// makes sure a Temporal CLI is at hand.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const only = process.argv.includes('--generate') ? 'generate' : null;

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`[bootstrap] failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status || 1);
  }
}

const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);

// 1. Dependencies, when node_modules is missing or older than the lock file. `npm install` rather than
//    `npm ci`: registry mirrors that lack some other platforms' optional binaries (@swc/core-darwin-*, …)
//    leave them out of the lock, and `npm ci` then refuses the lock as out of sync. `npm install` still
//    installs the locked versions and leaves package-lock.json as it is.
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (!only && (!fs.existsSync(installed) || mtime(lock) > mtime(installed))) {
  console.log('[bootstrap] installing dependencies…');
  run('npm', ['install', '--no-audit', '--no-fund']);
}

// 2. Prisma client. The CLI wants to download its schema engine even for `generate`, which needs none
//    (it uses WebAssembly); pointing PRISMA_SCHEMA_ENGINE_BINARY at any file skips the download.
const schema = path.join(root, 'prisma', 'schema.prisma');
const client = path.join(root, 'generated', 'prisma', 'client.ts');
if (only === 'generate' || mtime(schema) > mtime(client)) {
  console.log('[bootstrap] generating the Prisma client…');
  run(process.execPath, [path.join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'generate'], {
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || '/bin/false',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  });
}
if (only) process.exit(0);

// 3. The web console (web/dist), when missing or older than its sources, the API schemas its client types
//    are generated from (api/, domain/), or the lock file. `npm run build:web` regenerates the API document
//    and the client's types, then builds with Vite: a few seconds.
const newest = (dir) => {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'generated'].includes(e.name)) continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : mtime(p));
  }
  return t;
};
const built = path.join(root, 'web', 'dist', 'index.html');
const sources = Math.max(
  newest(path.join(root, 'web')),
  newest(path.join(root, 'api')),
  newest(path.join(root, 'domain')),
  mtime(lock),
);
if (mtime(built) < sources) {
  console.log('[bootstrap] building the web console…');
  run('npm', ['run', '--silent', 'build:web']);
}

// 4. The prebuilt workflow bundle (generated/workflow-bundle.js) that `npm start` and the standalone worker load,
//    when workflows/ or domain/ changed since it was built: workers never bundle in their own process.
run(process.execPath, [path.join(root, 'scripts', 'build.js'), '--workflows']);

// 5. Temporal CLI: resolved (and built with Go if need be) by infra/temporal.ts.
run(process.execPath, [
  path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
  '-e',
  "const t = require('./infra/temporal'); const p = t.resolveTemporalCli(); console.log('[bootstrap] Temporal CLI: ' + (p || 'none here; the SDK will download one'));",
]);
