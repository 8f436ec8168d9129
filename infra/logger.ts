import pino, { type DestinationStream, type Logger } from 'pino';
import { replaceIdNumbers } from '../domain/id-number';

/** Masks every ID number in `text` to region + last four (520302********0014), whatever its encoding. */
export function redactIdNumbers(text: string): string {
  return replaceIdNumbers(text, (id) => `${id.slice(0, 6)}********${id.slice(14)}`);
}

/**
 * The same over a value about to be stored (an audit row's details): every string, key and number inside it,
 * without going through JSON text (so no escape can be split). Returns a copy.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactIdNumbers(value) as T;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const text = String(value);
    const masked = redactIdNumbers(text);
    return (masked === text ? value : masked) as T;
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [redactIdNumbers(k), redactDeep(v)]),
  ) as T;
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
