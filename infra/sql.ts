// Transactions on node-postgres directly, for the workflow's hot-path writes (activities/): the same tagged-template
// SQL as Prisma's $queryRaw/$executeRaw, at a fraction of its CPU (measured side by side on this machine: Prisma
// 0.20 ms per simple statement, pg 0.06 ms; README "Where a transfer's time goes"). The pool is the one beneath the
// process's Prisma client (infra/db.ts createPrisma), so a process still holds one pool of connections.
import { types, type Pool, type PoolClient, type QueryConfig } from 'pg';

/**
 * What a transaction offers: tagged-template SQL whose `${values}` become parameters, as Prisma's `$queryRaw` and
 * `$executeRaw` (a Prisma transaction client fits this too, so helpers such as appendAudit and applyRollup serve
 * both).
 */
export interface RawSql {
  $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
  $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/** Ended after this long, as Prisma's interactive transactions are (its default timeout). */
export const TRANSACTION_TIMEOUT_MS = 5_000;

const pools = new WeakMap<object, Pool>();

/** Records the pool beneath a Prisma client (createPrisma does). */
export function registerPool(owner: object, pool: Pool): void {
  pools.set(owner, pool);
}

/** The pg pool beneath a client made by createPrisma. */
export function poolOf(owner: object): Pool {
  const pool = pools.get(owner);
  if (!pool) throw new Error('no pg pool registered for this Prisma client (make it with createPrisma)');
  return pool;
}

/**
 * `timestamp without time zone` columns hold UTC (as Prisma writes them) and `date` columns a calendar day: read both
 * as UTC, whatever the process's time zone (pg's own parsers read them as local time).
 */
const TIMESTAMP = 1114;
const DATE = 1082;
const parseTimestamp = (v: string) => new Date(`${v.replace(' ', 'T')}Z`);
const parseDate = (v: string) => new Date(`${v}T00:00:00Z`);
const TYPES: QueryConfig['types'] = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMP
      ? parseTimestamp
      : oid === DATE
        ? parseDate
        : types.getTypeParser(oid, format ?? 'text')) as NonNullable<QueryConfig['types']>['getTypeParser'],
};

/** Dates as UTC instants (pg would send local time with an offset, which a `timestamp` column drops). */
const param = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : v === undefined ? null : v);

/**
 * One statement text per call site: `$1 … $n` in place of the values, and a name, so each connection parses and
 * plans it once (a prepared statement) instead of on every call.
 */
const texts = new WeakMap<TemplateStringsArray, { text: string; name: string }>();
let statements = 0;
function statementOf(strings: TemplateStringsArray) {
  let s = texts.get(strings);
  if (!s) {
    s = { text: strings.reduce((acc, part, i) => `${acc}$${i}${part}`), name: `xueji_${++statements}` };
    texts.set(strings, s);
  }
  return s;
}

/** One statement on a connection or the pool: prepared by name, `${values}` as parameters, dates as UTC. */
function run(on: Pick<Pool, 'query'>, strings: TemplateStringsArray, values: unknown[]) {
  const { text, name } = statementOf(strings);
  return on.query({ name, text, values: values.map(param), types: TYPES });
}

/** A transaction on one pooled connection. */
export class PgTransaction implements RawSql {
  constructor(private readonly client: PoolClient) {}

  async $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T> {
    return (await run(this.client, strings, values)).rows as T;
  }

  async $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number> {
    return (await run(this.client, strings, values)).rowCount ?? 0;
  }
}

/**
 * Reads on the pool, outside any transaction: the same tagged-template SQL as a transaction's, each statement on
 * whichever connection is free.
 */
export function onPool(pool: Pool): Pick<RawSql, '$queryRaw'> {
  return {
    async $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T> {
      return (await run(pool, strings, values)).rows as T;
    },
  };
}

/** A connection taken from the pool, and the one way to give it back. */
export interface HeldConnection {
  client: PoolClient;
  /** Back to the pool, once (later calls do nothing); with an error, or after a lost connection, it is discarded. */
  release(err?: Error): void;
}

/**
 * Takes a connection from the pool for a while. pg-pool listens for 'error' only on idle clients: a connection lost
 * while held (Postgres restarted, the backend ended) would be thrown out of the socket's callback and end the
 * process. Here it is noted instead — the client's statements fail with it anyway (the next one, if none was
 * running) — and the connection is discarded on release.
 */
export async function holdConnection(pool: Pick<Pool, 'connect'>): Promise<HeldConnection> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onLost = (err: Error) => {
    lost = err;
  };
  client.on('error', onLost);
  let released = false;
  return {
    client,
    release(err) {
      if (released) return;
      released = true;
      client.removeListener('error', onLost);
      client.release(err ?? lost);
    },
  };
}

/** The transaction ran past its time limit: its connection was closed, so Postgres rolled it back. */
export class TransactionTimeoutError extends Error {
  constructor(ms: number) {
    super(`transaction ended after ${ms} ms (rolled back)`);
    this.name = 'TransactionTimeoutError';
  }
}

/**
 * Runs `fn` in a transaction (READ COMMITTED): COMMIT when it returns, ROLLBACK when it throws. One that runs past
 * `timeoutMs` has its connection closed (Postgres rolls it back and releases its locks) and fails.
 */
export async function transaction<T>(
  pool: Pool,
  fn: (tx: PgTransaction) => Promise<T>,
  timeoutMs = TRANSACTION_TIMEOUT_MS,
): Promise<T> {
  const { client, release } = await holdConnection(pool);
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    release(new TransactionTimeoutError(timeoutMs)); // destroys the connection: the server ends the transaction
  }, timeoutMs);
  try {
    await client.query('BEGIN');
    const result = await fn(new PgTransaction(client));
    if (expired) throw new TransactionTimeoutError(timeoutMs);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (expired) throw new TransactionTimeoutError(timeoutMs);
    try {
      await client.query('ROLLBACK');
    } catch {
      release(err instanceof Error ? err : new Error(String(err))); // a broken connection is not reused
    }
    throw err;
  } finally {
    clearTimeout(timer);
    release();
  }
}
