import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config';

export interface OutgoingMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /**
   * The left part of a stable Message-ID (the mailer adds MAIL_FROM's domain), so a receiving system can recognise
   * a repeat. Without it nodemailer makes a random one.
   */
  messageId?: string;
}

export interface MailReceipt {
  messageId: string;
  /** Addresses the server refused while accepting others (SMTP only). */
  rejected: string[];
  /** Where the message was written, when there is no SMTP server. */
  file?: string;
}

export interface Mailer {
  /** 'smtp' sends through SMTP_URL; 'file' writes .eml files under DATA_DIR/mail. */
  readonly transport: 'smtp' | 'file';
  send(mail: OutgoingMail): Promise<MailReceipt>;
  close(): void;
}

export type MailerConfig = Pick<Config, 'SMTP_URL' | 'DATA_DIR' | 'MAIL_FROM'>;

// nodemailer's defaults wait up to 2 minutes for a connection and 10 for a stalled socket: far longer than a
// dispatcher should hold its claim on an outbox row. A slow server fails the attempt, and the row is retried.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

const addressText = (a: string | { address: string }) => (typeof a === 'string' ? a : a.address);

/**
 * The process's mailer: SMTP when SMTP_URL is set, otherwise each message becomes an .eml file under DATA_DIR/mail
 * (development and demos: open it in any mail client). The file is named by the Message-ID, so writing a message
 * again replaces it instead of adding a copy.
 */
export function createMailer(config: MailerConfig): Mailer {
  const from = config.MAIL_FROM;
  const domain = /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? 'xueji.local';
  const message = (mail: OutgoingMail) => ({
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    ...(mail.messageId ? { messageId: `<${mail.messageId}@${domain}>` } : {}),
  });
  if (config.SMTP_URL) {
    // Pooled: a few connections kept open and reused, not one SMTP handshake per message.
    const transport = nodemailer.createTransport({
      url: config.SMTP_URL,
      pool: true,
      maxConnections: 4,
      ...SMTP_TIMEOUTS,
    });
    return {
      transport: 'smtp',
      async send(mail) {
        const info = await transport.sendMail({ from, ...message(mail) });
        return { messageId: info.messageId, rejected: (info.rejected ?? []).map(addressText) };
      },
      close: () => transport.close(),
    };
  }
  const dir = path.join(config.DATA_DIR, 'mail');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    transport: 'file',
    async send(mail) {
      const info = await transport.sendMail({ from, ...message(mail) });
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `${fileName(info.messageId)}.eml`);
      await fs.writeFile(file, info.message as Buffer);
      return { messageId: info.messageId, rejected: [], file };
    },
    close: () => transport.close(),
  };
}

/**
 * Message-ID local part (the mailer adds MAIL_FROM's domain) of an outbox row: readable, and a function of the outbox
 * key alone, so every attempt for one key carries the same Message-ID and a receiving server can de-duplicate.
 */
export function messageIdFor(key: string): string {
  const slug = key.replace(/[^A-Za-z0-9_-]+/g, '.').replace(/^\.+|\.+$/g, '');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `${slug}.${hash}`;
}

/** A Message-ID as a safe file name: its readable characters, plus a hash so two ids never share a file. */
function fileName(messageId: string): string {
  const readable = messageId
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  const hash = createHash('sha256').update(messageId).digest('hex').slice(0, 12);
  return `${readable}-${hash}`;
}
