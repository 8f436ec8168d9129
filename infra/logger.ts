import pino, { type DestinationStream, type Logger } from 'pino';

// An ID number (18 characters, ending in a digit or X), alone or inside a 学籍号 like G520302201505050014 —
// but not a run of digits inside a hex hash (a sha256 often holds 18 digits in a row).
const ID_NUMBER = /(?<![0-9A-Fa-f])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])/g;

export function redactIdNumbers(text: string): string {
  return text.replace(ID_NUMBER, '$1********$2');
}

/**
 * Structured JSON logs. Pupils' ID numbers never reach them: known fields are removed, and every line
 * is masked as a whole just before it is written (paths such as /api/students/G5203…, error messages).
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['idNumber', '*.idNumber', 'password', '*.password', 'req.headers.authorization', 'token', '*.token'],
        censor: '[redacted]',
      },
      hooks: { streamWrite: redactIdNumbers },
    },
    destination,
  );
}

export type { Logger };
