#!/usr/bin/env node
// `npm run build`: the production build, the same one the Dockerfile and `npm run test:production` run.
//   dist/                          the server compiled to JavaScript (tsc -p tsconfig.build.json), in the source layout
//   dist/generated/workflow-bundle.js   the workflows bundled once, here (bundleWorkflowCode); workers load it with
//                                  `workflowBundle: { codePath }` and never run webpack themselves
//   dist/web/dist, dist/settings, dist/prisma/migrations, dist/package.json + package-lock.json
// so dist/ is a self-contained application directory: `npm ci` in it (production packages only), then `node worker.js`,
// `node api/server.js`, `node scripts/migrate.js` … with no TypeScript toolchain at run time.
//
// `node scripts/build.js --workflows` only (re)builds generated/workflow-bundle.js when workflows/ or domain/ changed
// since it was built: the bootstrap runs it before `npm start`, whose worker loads that bundle.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
/** The bundle `npm start` and the standalone worker load from a source checkout (dist/ has its own copy). */
const devBundle = path.join(root, 'generated', 'workflow-bundle.js');

const say = (m) => console.log(`[build] ${m}`);

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`[build] failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status || 1);
  }
}

const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);
const newest = (dir) => {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '__histories__') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : mtime(p));
  }
  return t;
};

/** The workflow code is workflows/ plus the pure domain/ it imports, bundled with the locked SDK version. */
function bundleIsStale(file) {
  const sources = Math.max(
    newest(path.join(root, 'workflows')),
    newest(path.join(root, 'domain')),
    mtime(path.join(root, 'package-lock.json')),
  );
  return mtime(file) < sources;
}

async function buildWorkflowBundle(file) {
  const { bundleWorkflowCode } = require('@temporalio/worker');
  const quiet = {
    log() {},
    trace() {},
    debug() {},
    info() {},
    warn: (m) => console.warn(m),
    error: (m) => console.error(m),
  };
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(root, 'workflows'), logger: quiet });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written under another name first: a worker starting meanwhile never reads half a bundle.
  fs.writeFileSync(`${file}.tmp`, code);
  fs.renameSync(`${file}.tmp`, file);
  say(
    `workflow bundle ${path.relative(root, file)} (${Math.round(code.length / 1024)} kB, ${Date.now() - started} ms)`,
  );
}

/** dist/package.json: the project's production dependencies, with scripts that run the compiled files. */
function distPackageJson() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  delete pkg.devDependencies;
  pkg.scripts = {
    start: 'node scripts/start.js',
    api: 'node api/server.js',
    worker: 'node worker.js',
    migrate: 'node scripts/migrate.js',
    seed: 'node scripts/seed.js',
    'temporal:setup': 'node scripts/temporal-setup.js',
    backup: 'node scripts/backup.js',
    restore: 'node scripts/restore.js',
    'audit:verify': 'node scripts/audit-verify.js',
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

async function buildAll() {
  const started = Date.now();
  say('generating the Prisma client…');
  run(process.execPath, [path.join(root, 'scripts', 'bootstrap.js'), '--generate']);
  say('building the web console…');
  run('npm', ['run', '--silent', 'build:web']);
  say('compiling TypeScript into dist/…');
  fs.rmSync(dist, { recursive: true, force: true });
  run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.build.json']);
  await buildWorkflowBundle(devBundle);
  fs.cpSync(devBundle, path.join(dist, 'generated', 'workflow-bundle.js'));
  for (const dir of ['settings', path.join('prisma', 'migrations'), path.join('web', 'dist')]) {
    fs.cpSync(path.join(root, dir), path.join(dist, dir), { recursive: true });
  }
  // The production lock file: the project's lock with the development packages taken out, every version kept.
  // (`npm ci --omit=dev` on the full lock would still install typescript and prisma: @prisma/client names them as
  // optional peers, which npm keeps.)
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(dist, 'package-lock.json'));
  fs.writeFileSync(path.join(dist, 'package.json'), distPackageJson());
  const npm = spawnSync(
    'npm',
    ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    {
      cwd: dist,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (npm.status !== 0) throw new Error('npm could not write the production lock file');
  say(`dist/ ready in ${Math.round((Date.now() - started) / 1000)} s — run it with node (no TypeScript at run time)`);
}

async function main() {
  if (process.argv.includes('--workflows')) {
    if (bundleIsStale(devBundle)) await buildWorkflowBundle(devBundle);
    return;
  }
  await buildAll();
}

main().catch((e) => {
  console.error('[build] failed:', e);
  process.exit(1);
});
