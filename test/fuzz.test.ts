import { spawn } from 'node:child_process';
import path from 'node:path';

// The short version of the project's fuzz suite, as a user runs it: `npm run fuzz -- --requests 3500` on a throwaway
// stack of its own (embedded Postgres, Temporal dev server, worker and API). The long run (≥ 10,000 requests) and its
// figures are in the README. A failure prints the fuzzer's report.

const ROOT = path.resolve(__dirname, '..');

test(
  '3,500 fuzzed requests from the API document: no 5xx, every 4xx problem+json, every operation reached ≥ 50 times',
  async () => {
    const lines: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
          'scripts/fuzz.ts',
          '--requests',
          '3500',
          '--seed',
          '20261201',
        ],
        { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let partial = '';
      const take = (d: Buffer) => {
        partial += d.toString();
        const parts = partial.split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.once('error', reject);
      child.once('exit', (c) => {
        if (partial) lines.push(partial);
        resolve(c);
      });
    });
    const report = lines.join('\n');
    if (code !== 0) console.log(report);
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(Number(/^(\d+) passed/.exec(lines.at(-1) ?? '')?.[1])).toBe(3500);
    expect(code).toBe(0);
  },
  20 * 60_000,
);
