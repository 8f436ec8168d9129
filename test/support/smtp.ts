import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { freePort } from './ports';

// A real SMTP server on loopback for tests (smtp-server), and a small reader for the messages nodemailer writes.

export interface Received {
  /** When the server accepted it (epoch ms). */
  at: number;
  to: string[];
  headers: Map<string, string>;
  subject: string;
  text: string;
  html: string;
}

/**
 * An SMTP server on loopback (a free port unless given) that keeps what it receives; `rejectRcpt` makes it refuse
 * recipients; while `holdData` is pending it answers no message's DATA (the client waits for the reply), and
 * `dataReceived` counts the messages that reached that point.
 */
export async function startSmtp(port?: number) {
  const received: Received[] = [];
  const state = { rejectRcpt: false, holdData: null as Promise<void> | null, dataReceived: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address: SMTPServerAddress, _session, callback) {
      if (state.rejectRcpt) {
        const err = Object.assign(new Error('mailbox unavailable (test fault)'), { responseCode: 550 });
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.dataReceived += 1;
        void (state.holdData ?? Promise.resolve()).then(() => {
          received.push({
            at: Date.now(),
            to: session.envelope.rcptTo.map((r) => r.address),
            ...parseMessage(Buffer.concat(chunks).toString('latin1')),
          });
          callback();
        });
      });
    },
  });
  port ??= await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // A client killed mid-session (the chaos suite SIGKILLs workers while they send) resets its connection: a
  // real server logs that and carries on, and so does this one. Without a listener the second reset would throw.
  server.on('error', () => undefined);
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// A minimal MIME reader for what nodemailer writes: folded headers, RFC 2047 words, multipart/alternative,
// base64 / quoted-printable bodies. Bytes are carried as latin1 strings and decoded as UTF-8 at the end.
function splitHead(raw: string): [Map<string, string>, string] {
  const at = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, at).replace(/\r?\n[ \t]+/g, ' ');
  const body = raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return [headers, body];
}
const utf8 = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');
const qp = (s: string) =>
  s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
export function decodeWords(s: string): string {
  return utf8(s)
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : utf8(qp(data.replace(/_/g, ' '))),
    );
}
function decodeBody(headers: Map<string, string>, body: string): string {
  const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') return utf8(qp(body));
  return utf8(body);
}
export function parseMessage(raw: string): Omit<Received, 'to' | 'at'> {
  const [headers, body] = splitHead(raw);
  const parts: Record<string, string> = {};
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const [h, b] = splitHead(chunk.replace(/^\r?\n/, ''));
      parts[(h.get('content-type') ?? '').split(';')[0]] = decodeBody(h, b.replace(/\r?\n$/, ''));
    }
  } else {
    parts[(headers.get('content-type') ?? 'text/plain').split(';')[0]] = decodeBody(headers, body);
  }
  return {
    headers,
    subject: decodeWords(headers.get('subject') ?? ''),
    text: parts['text/plain'] ?? '',
    html: parts['text/html'] ?? '',
  };
}
