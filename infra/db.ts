import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { registerPool } from './sql';

export type { PrismaClient };

/** The Prisma error code of a failed query (P2002 unique violation, P2003 foreign key …), if any. */
export function prismaErrorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

/** A unique constraint refused the write: the row (or a concurrent twin) already exists (Prisma's P2002, pg's 23505). */
export const isUniqueViolation = (e: unknown): boolean => ['P2002', '23505'].includes(prismaErrorCode(e) ?? '');

/**
 * Prisma's codes for "the database could not be reached or did not answer in time": P1001 can't reach, P1002
 * timed out, P1008 operation timed out, P1017 server closed the connection, P2024 no pool connection in time,
 * P2037 too many connections, P2028 a transaction whose connection died under it.
 */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** The pg driver adapter's DriverAdapterError kinds for the same (@prisma/adapter-pg convertDriverError). */
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
]);
/** Socket errors of node-postgres itself. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/**
 * SQLSTATEs of a server going away or refusing for now: class 08 (connection exception), 57P01–57P03 (admin
 * shutdown, crash shutdown, cannot connect now: starting up or shutting down), 53300 too many connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
/** node-postgres's own messages for a lost or never-made connection (no code on these). */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection (is )?(closed|ended)|Can't reach database server|the database system is (starting up|shutting down|in recovery mode)|terminating connection due to administrator command|Cannot use a pool after calling end/i;

/**
 * True when `e` (or an error it was caused by) says Postgres is down, restarting or unreachable: the request
 * may succeed if retried later (503), as opposed to a fault in the query (500). Found by stopping Postgres under
 * a running app (test/db-outage.test.ts).
 */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (depth > 6 || typeof e !== 'object' || e === null) return false;
  const x = e as {
    name?: unknown;
    code?: unknown;
    kind?: unknown;
    originalCode?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  if (x.name === 'PrismaClientInitializationError') return true;
  // A transaction on `pg` (infra/sql.ts) that ran past its limit was rolled back, or its COMMIT's fate is unknown:
  // as Prisma's P2028, the request may be sent again.
  if (x.name === 'TransactionTimeoutError') return true;
  if (typeof x.code === 'string' && (UNAVAILABLE_CODES.has(x.code) || SOCKET_CODES.has(x.code))) return true;
  if (typeof x.code === 'string' && UNAVAILABLE_SQLSTATE.test(x.code)) return true;
  if (typeof x.originalCode === 'string' && UNAVAILABLE_SQLSTATE.test(x.originalCode)) return true;
  if (typeof x.kind === 'string' && UNAVAILABLE_KINDS.has(x.kind)) return true;
  if (typeof x.message === 'string' && UNAVAILABLE_MESSAGE.test(x.message)) return true;
  return isDatabaseUnavailable(x.cause, depth + 1) || isDatabaseUnavailable(x.meta?.driverAdapterError, depth + 1);
}

/** "PrismaClientKnownRequestError P1001 ← DriverAdapterError DatabaseNotReachable": what an error is, for logs. */
export function describeDbError(e: unknown): string {
  const parts: string[] = [];
  for (let x = e as Record<string, unknown> | undefined, i = 0; x && typeof x === 'object' && i < 6; i++) {
    const kind = (x.cause as { kind?: unknown } | undefined)?.kind ?? x.kind;
    const what = [x.name, x.code, typeof kind === 'string' ? kind : undefined].filter(Boolean).join(' ');
    if (what && parts[parts.length - 1] !== what) parts.push(what);
    x = (x.cause ?? (x.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError) as typeof x;
  }
  const first =
    String((e as { message?: unknown })?.message ?? e)
      .split('\n')
      .filter((l) => l.trim())
      .at(-1) ?? '';
  return `${parts.join(' ← ') || 'error'}: ${first.trim().slice(0, 160)}`;
}

/** How long a query or an interactive transaction waits for a connection from the pool before it fails. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * One Prisma client per process, on the pg driver adapter (no Rust query engine). A connection that cannot be made
 * within 5 s fails (node-postgres waits forever by default): a request then answers 503 instead of hanging. An
 * interactive transaction waits as long for its connection (Prisma's own default is 2 s, shorter than a query's).
 * The pg pool beneath it is the process's one pool: the workflow's writes (activities/) use it directly
 * (infra/sql.ts poolOf), and `$disconnect` ends it.
 */
export function createPrisma(databaseUrl: string, poolSize = 10): PrismaClient {
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on('error', () => undefined); // a connection lost while idle: the next query opens another
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: CONNECT_TIMEOUT_MS } });
  registerPool(prisma, pool);
  return prisma;
}
