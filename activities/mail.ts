import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import type { Mailer } from '../infra/mailer';
import type { MailKind } from '../infra/mail-templates';

export interface MailActivityDeps {
  prisma: PrismaClient;
  mailer: Mailer;
  logger: Logger;
}

export interface SendMailInput {
  /** Business key, e.g. mailKey(): `app:<id>:r<round>:<stage>:<kind>[:<n>]`. One key, at most one delivery. */
  key: string;
  applicationId: number | null;
  kind: MailKind;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/**
 * A mail with no address to go to (the organisation has no email on record): retrying cannot help. Named for the
 * workflow's nonRetryableErrorTypes; the workflow should skip the mail rather than fail the case.
 */
export class MailWithoutRecipientsError extends Error {
  constructor(key: string) {
    super(`mail ${key} has no recipients`);
    this.name = 'MailWithoutRecipientsError';
  }
}

export interface SendMailResult {
  /** false: the outbox says this key was sent before; nothing was sent now. */
  sent: boolean;
  sentAt: Date;
}

// How long one delivery may hold the outbox row: above the mailer's SMTP timeouts (10 s connect + 10 s greeting +
// 30 s socket), so the transaction does not expire while the server is still answering.
const SEND_TX_TIMEOUT_MS = 90_000;

/**
 * sendMail is idempotent by key. The outbox row is inserted if absent (ON CONFLICT DO NOTHING, so a concurrent
 * duplicate insert is harmless); then, holding the row's lock, a row already marked sent is left alone, and otherwise
 * the mail is sent and sentAt written in the same transaction. A retried or concurrent call for the same key waits on
 * the lock and then finds sentAt set.
 *
 * The one window left: the SMTP server accepted the message but sentAt was never committed (the worker died, or the
 * database connection broke, between the two). The row stays unsent and the retry sends the mail a second time. SMTP
 * has no two-phase commit, so at-least-once is the best possible here; the Message-ID is derived from the key, so a
 * receiving system that deduplicates by Message-ID sees the same id twice.
 *
 * The content stored on first insert wins: a retry with other text sends what the outbox holds.
 */
export function createMailActivities({ prisma, mailer, logger }: MailActivityDeps) {
  async function sendMail(input: SendMailInput): Promise<SendMailResult> {
    if (input.to.length === 0) throw new MailWithoutRecipientsError(input.key);
    await prisma.mailOutbox.createMany({
      data: [
        {
          key: input.key,
          applicationId: input.applicationId,
          kind: input.kind,
          toAddresses: input.to,
          subject: input.subject,
          text: input.text,
          html: input.html,
        },
      ],
      skipDuplicates: true,
    });

    const outcome = await prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`select id from "MailOutbox" where key = ${input.key} for update`;
        const row = await tx.mailOutbox.findUniqueOrThrow({ where: { key: input.key } });
        if (row.sentAt) return { sent: false as const, sentAt: row.sentAt };
        try {
          const receipt = await mailer.send({
            to: row.toAddresses,
            subject: row.subject,
            text: row.text,
            html: row.html,
            messageId: messageIdFor(row.key),
          });
          const partial = receipt.rejected.length > 0 ? `rejected: ${receipt.rejected.join(', ')}` : null;
          // Some recipients refused is still "sent": sending again would repeat the mail to those who accepted it.
          if (partial) logger.warn({ key: row.key, rejected: receipt.rejected }, 'mail partly rejected');
          const done = await tx.mailOutbox.update({
            where: { id: row.id },
            data: { sentAt: new Date(), attempts: { increment: 1 }, lastError: partial },
          });
          logger.info({ key: row.key, kind: row.kind, messageId: receipt.messageId, file: receipt.file }, 'mail sent');
          return { sent: true as const, sentAt: done.sentAt! };
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          await tx.mailOutbox.update({
            where: { id: row.id },
            data: { attempts: { increment: 1 }, lastError: message.slice(0, 2000) },
          });
          // Committed with the attempt recorded; thrown after the transaction so Temporal retries the activity.
          return { failed: err };
        }
      },
      { timeout: SEND_TX_TIMEOUT_MS, maxWait: 10_000 },
    );
    if ('failed' in outcome) {
      logger.warn({ key: input.key, err: outcome.failed }, 'mail not sent');
      throw outcome.failed;
    }
    return outcome;
  }

  return { sendMail };
}

/**
 * Message-ID local part (the mailer adds MAIL_FROM's domain): readable, and a function of the outbox key alone, so
 * every attempt for one key carries the same Message-ID and a receiving server can de-duplicate.
 */
export function messageIdFor(key: string): string {
  const slug = key.replace(/[^A-Za-z0-9_-]+/g, '.').replace(/^\.+|\.+$/g, '');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `${slug}.${hash}`;
}
