import pino, { type Logger } from 'pino';

// ID numbers (and anything that looks like one) never reach the logs.
const ID_NUMBER = /\b(\d{6})\d{8}(\d{3}[\dXx])\b/g;

export function redactIdNumbers(text: string): string {
  return text.replace(ID_NUMBER, '$1********$2');
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: ['idNumber', '*.idNumber', 'password', '*.password', 'req.headers.authorization', 'token', '*.token'],
      censor: '[redacted]',
    },
    hooks: {
      // Last line of defence: mask ID-number-shaped strings in every message.
      logMethod(args, method) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redactIdNumbers(a) : a)) as Parameters<typeof method>,
        );
      },
    },
  });
}

export type { Logger };
