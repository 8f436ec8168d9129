// The mail dispatcher (DESIGN §5 "Mail", STYLE 17): claims outbox rows with a lease, sends each outside any
// transaction, then records sentAt in a short transaction of its own, retried on its own. It runs beside each worker.
//
// Exactly once per key, in practice: a row is claimed by one dispatcher at a time (FOR UPDATE SKIP LOCKED, and the
// lease keeps others off while it sends and records); no transaction is open during SMTP; if the database fails
// after the server accepted a message, the dispatcher keeps retrying the record (not the send) while its lease
// lasts — so the lease must outlast the longest database outage to be survived (MAIL_LEASE, default 10 minutes).
// The one window left is a crash of this process between the server's "250 OK" and the record: then the row is
// sent again once the lease runs out, with the same Message-ID (a function of the key), which receiving servers use
// to recognise the repeat.
import { Client as PgClient, Pool, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import { messageIdFor, type Mailer } from './mailer';
import { holdConnection } from './sql';

/** The channel a transaction that writes outbox rows notifies (delivered when it commits). */
export const MAIL_CHANNEL = 'xueji_mail';

export interface MailDispatcherOptions {
  /**
   * The dispatcher's own connections (a pool of one per mail in flight, for claims and records; one for LISTEN),
   * apart from the worker's: recording that a mail went out never waits behind the worker's transactions.
   */
  databaseUrl: string;
  /** Tests put a pool of their own in front (to make a record fail). */
  pool?: Pick<Pool, 'query'> & Partial<Pick<Pool, 'connect'>>;
  mailer: Mailer;
  logger: Logger;
  /** How long a claim holds a row (ms). */
  leaseMs?: number;
  /** Rows claimed at once, and sent in parallel. */
  batch?: number;
  /** Look for due rows at least this often even without a notification (ms): retries after back-off, lost NOTIFYs. */
  pollMs?: number;
  /** Back-off after a failed send: first, and at most (ms). */
  retryMs?: { first: number; max: number };
}

export interface MailDispatcher {
  stop(): Promise<void>;
  /** Look now (tests). */
  wake(): void;
}

interface Claimed {
  id: number;
  key: string;
  toAddresses: string[];
  subject: string;
  text: string;
  html: string;
  attempts: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startMailDispatcher(o: MailDispatcherOptions): MailDispatcher {
  const leaseMs = o.leaseMs ?? 10 * 60_000;
  const batch = o.batch ?? 8;
  const pollMs = o.pollMs ?? 5_000;
  const retry = o.retryMs ?? { first: 2_000, max: 10 * 60_000 };
  const { mailer, logger } = o;
  const ownPool = o.pool ? null : new Pool({ connectionString: o.databaseUrl, max: batch });
  ownPool?.on('error', () => undefined); // a connection lost while idle: the next query opens another
  const db = o.pool ?? ownPool!;
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let pending = false;
  const wake = () => {
    pending = true;
    wakeUp?.();
  };
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pending || stopped) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  /** Claims up to `batch` due rows in one statement (one commit): free, or whose lease ran out. */
  const claim = async () =>
    (
      await db.query<Claimed>(
        `update "MailOutbox" m
            set "leaseUntil" = (now() at time zone 'UTC') + make_interval(secs => $1), attempts = m.attempts + 1
          where m.id in (select id from "MailOutbox"
                          where "sentAt" is null and "nextAttemptAt" <= (now() at time zone 'UTC')
                            and ("leaseUntil" is null or "leaseUntil" < (now() at time zone 'UTC'))
                          order by "nextAttemptAt", id
                          limit $2
                          for update skip locked)
         returning m.id, m.key, m."toAddresses", m.subject, m.text, m.html, m.attempts`,
        [leaseMs / 1000, batch],
      )
    ).rows;

  /**
   * Records the send, retrying the record alone (never the send) until it lands or the process stops. The first
   * try goes on a connection taken before the send (`held`), so it never queues for one: the time between the
   * server's acceptance and the record is the one window in which a crash sends the mail twice.
   */
  async function recordSent(row: Claimed, note: string | null, held: PoolClient | null) {
    const sql = `update "MailOutbox" set "sentAt" = (now() at time zone 'UTC'), "leaseUntil" = null, "lastError" = $2
                  where id = $1`;
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt === 1 && held) await held.query(sql, [row.id, note]);
        else await db.query(sql, [row.id, note]);
        return;
      } catch (err) {
        if (stopped && attempt > 3) {
          logger.error(
            { key: row.key, err: String(err) },
            'mail sent but not recorded; stopping (it may be sent again after its lease)',
          );
          return;
        }
        logger.warn({ key: row.key, attempt, err: String(err) }, 'mail sent; recording it failed, retrying the record');
        // Often at first (the window in which a crash of this process would send the mail again is open until the
        // record lands), then every few seconds through a longer outage.
        await sleep(attempt <= 50 ? 200 : 5_000);
      }
    }
  }

  async function send(row: Claimed) {
    // Taken before the send, released after the first try of the record (a lost connection is discarded).
    const held = db.connect ? await holdConnection(db as Pick<Pool, 'connect'>).catch(() => null) : null;
    try {
      await sendAndRecord(row, held?.client ?? null);
    } finally {
      held?.release();
    }
  }

  async function sendAndRecord(row: Claimed, held: PoolClient | null) {
    let receipt;
    try {
      receipt = await mailer.send({
        to: row.toAddresses,
        subject: row.subject,
        text: row.text,
        html: row.html,
        messageId: messageIdFor(row.key),
      });
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
      const backoffMs = Math.min(retry.first * 2 ** Math.max(0, row.attempts - 1), retry.max);
      logger.warn({ key: row.key, attempt: row.attempts, err: message }, 'mail not sent; will retry');
      // Best effort: if this fails too, the row is retried once its lease runs out.
      await db
        .query(
          `update "MailOutbox"
              set "lastError" = $2, "leaseUntil" = null,
                  "nextAttemptAt" = (now() at time zone 'UTC') + make_interval(secs => $3)
            where id = $1`,
          [row.id, message, backoffMs / 1000],
        )
        .catch((e: unknown) => logger.warn({ key: row.key, err: String(e) }, 'mail failure not recorded'));
      return;
    }
    // Some recipients refused is still "sent": sending again would repeat the mail to those who accepted it.
    const partial = receipt.rejected.length > 0 ? `rejected: ${receipt.rejected.join(', ')}` : null;
    if (partial) logger.warn({ key: row.key, rejected: receipt.rejected }, 'mail partly rejected');
    const accepted = Date.now();
    await recordSent(row, partial, held);
    const recordMs = Date.now() - accepted;
    logger.info({ key: row.key, messageId: receipt.messageId, file: receipt.file, recordMs }, 'mail sent');
  }

  // LISTEN on a connection of its own, reconnected when the database comes back; polling covers the gaps.
  let listener: PgClient | null = null;
  async function listen() {
    while (!stopped) {
      const c = new PgClient({ connectionString: o.databaseUrl });
      try {
        c.on('notification', wake);
        const lost = new Promise<void>((resolve) => {
          c.on('error', () => resolve());
          c.on('end', () => resolve());
        });
        await c.connect();
        await c.query(`listen ${MAIL_CHANNEL}`);
        listener = c;
        wake(); // anything written while we were not listening
        await lost;
      } catch {
        // the database is away: try again shortly
      } finally {
        listener = null;
        await c.end().catch(() => undefined);
      }
      if (!stopped) await sleep(1_000);
    }
  }

  async function loop() {
    let failures = 0;
    while (!stopped) {
      pending = false;
      let rows: Claimed[];
      try {
        rows = await claim();
        failures = 0;
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 30 === 0) logger.warn({ err: String(err) }, 'mail dispatcher cannot claim');
        await idle(Math.min(500 * failures, pollMs));
        continue;
      }
      if (rows.length > 0) await Promise.all(rows.map(send));
      // A claim short of a full batch took every row then due: look again when a transaction notifies (`pending`)
      // or at the next poll, not at once — an empty claim is a commit, and each decision would cost one more.
      if (rows.length < batch) await idle(pollMs);
    }
  }

  const listening = listen();
  const running = loop();
  return {
    wake,
    async stop() {
      stopped = true;
      wakeUp?.();
      await listener?.end().catch(() => undefined);
      await Promise.all([running, listening]);
      await ownPool?.end().catch(() => undefined);
    },
  };
}
