import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

// The layer rules in eslint.config.mjs, shown to refuse what they are there to refuse: `eslint .` (part of `npm test`)
// passing proves only that nothing breaks them today, not that they would notice. Linted as text under real paths, by
// the CLI (ESLint loads its config with a dynamic import, which jest's module sandbox refuses).

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');

async function problems(filePath: string, code: string): Promise<string[]> {
  const run = promisify(execFile)(
    process.execPath,
    [cli, '--format', 'json', '--stdin', '--stdin-filename', filePath],
    {
      cwd: root,
    },
  );
  run.child.stdin!.end(code);
  // Exit code 1 means "problems found": the report is on stdout either way.
  const { stdout } = await run.catch((e: { stdout?: string; code?: number }) => {
    if (e.code === 1 && e.stdout) return { stdout: e.stdout };
    throw e;
  });
  const [result] = JSON.parse(stdout) as { messages: { line: number; ruleId: string | null }[] }[];
  return result.messages.map((m) => `${m.line}:${m.ruleId}`);
}

const ROUTE = [
  "import type { User } from '../../generated/prisma/client';",
  "import { Prisma } from '../../generated/prisma/client';",
  "import { appendAudit } from '../../infra/audit';",
  "import { isUniqueViolation, type PrismaClient } from '../../infra/db';",
  "import type { PrismaClient as Client } from '../../infra/db';",
  "import { Pool } from 'pg';",
  "import type { AppDeps } from '../app';",
  'export async function probe(prisma: PrismaClient, deps: AppDeps, u: User, c: Client) {',
  '  await prisma.user.findMany();',
  '  await deps.prisma.user.count();',
  '  await c.$transaction(async (t) => t.user.count());',
  '  await deps.prisma.$queryRaw`select 1`;',
  '  return [Prisma, appendAudit, isUniqueViolation, Pool, u, deps.prisma];',
  '}',
  '',
].join('\n');

const SERVICE = [
  "import { appendAudit } from '../../infra/audit';",
  "import type { PrismaClient } from '../../infra/db';",
  'export const probe = (prisma: PrismaClient) =>',
  "  prisma.$transaction((tx) => appendAudit(tx, { actor: null, action: 'probe' }));",
  '',
].join('\n');

const INFRA = ["import { hashPassword } from '../api/auth';", 'export const probe = hashPassword;', ''].join('\n');

// Each run builds the project's TypeScript program (type-aware rules): the three at once.
let found: Record<'route' | 'service' | 'infra', string[]>;
beforeAll(async () => {
  const [route, service, infra] = await Promise.all([
    problems('api/routes/students.ts', ROUTE),
    problems('api/services/students.ts', SERVICE),
    problems('infra/seed.ts', INFRA),
  ]);
  found = { route, service, infra };
}, 120_000);

test('a route may not talk to Postgres: no client import, no queries, no transactions, no audit writes', () => {
  // Type-only imports of model types and of the client's type stay allowed (lines 1 and 5), as does handing the
  // client on to a service (line 13).
  expect(found.route.filter((p) => p.endsWith('no-restricted-imports'))).toEqual([
    '2:@typescript-eslint/no-restricted-imports',
    '3:@typescript-eslint/no-restricted-imports',
    '4:@typescript-eslint/no-restricted-imports',
    '6:@typescript-eslint/no-restricted-imports',
  ]);
  const lines = new Set(
    found.route.filter((p) => p.endsWith('no-restricted-syntax')).map((p) => Number(p.split(':')[0])),
  );
  expect([...lines].sort((a, b) => a - b)).toEqual([9, 10, 11, 12]);
  expect(
    found.route.filter((p) => !p.endsWith('no-restricted-imports') && !p.endsWith('no-restricted-syntax')),
  ).toEqual([]);
});

test('a service may do the same', () => {
  expect(found.service).toEqual([]);
});

test('infra/ imports nothing from api/', () => {
  expect(found.infra).toEqual(['1:no-restricted-imports']);
});
