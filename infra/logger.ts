import pino, { type DestinationStream, type Logger } from 'pino';

// An ID number (18 characters, ending in a digit or X), alone or inside a 学籍号 like G520302201505050014, however it
// is written: plain, %-encoded in a URL (%47520302…, %35%32%30…), \u-escaped (\u0035\u0032…, with one backslash in
// text or two inside a JSON line), or in full-width digits from a Chinese input method (５２０３０２…), mixed or not.
// Not a run of digits inside a hex hash (a sha256 often holds 18 digits in a row): a plain run must not follow a hex
// character, unless that character ends a %XX or \uXXXX escape.
const FULL_DIGIT = '[\\uFF10-\\uFF19]';
const DIGIT = `(?:\\d|%3\\d|\\\\{1,2}u003\\d|${FULL_DIGIT})`;
const CHECK = `(?:\\d|[Xx]|%3\\d|%[57]8|\\\\{1,2}u003\\d|\\\\{1,2}u00[57]8|${FULL_DIGIT}|[\\uFF38\\uFF58])`;
const BEFORE = '(?:(?<![0-9A-Fa-f])|(?<=%[0-9A-Fa-f]{2})|(?<=\\\\u[0-9A-Fa-f]{4})|(?=%|\\\\|[\\uFF10-\\uFF19]))';
const AFTER = `(?![0-9A-Za-z\\uFF10-\\uFF19\\uFF21-\\uFF3A\\uFF41-\\uFF5A]|%3\\d|%[4-7][0-9A-Fa-f]|\\\\{1,2}u00[3-7][0-9A-Fa-f])`;
const ID_NUMBER = new RegExp(`${BEFORE}${DIGIT}{17}${CHECK}${AFTER}`, 'g');
const TOKEN = new RegExp(`${CHECK}`, 'g');

/** One character of an ID number as written (5, %35, \u0035, \\u0035, ５, %58, Ｘ …) as plain ASCII. */
function plain(token: string): string {
  if (token.length === 1) {
    const c = token.charCodeAt(0);
    return c >= 0xff10 ? String.fromCharCode(c - 0xfee0).toUpperCase() : token.toUpperCase();
  }
  const hex = token.startsWith('%') ? token.slice(1) : token.slice(-2);
  return String.fromCharCode(parseInt(hex, 16)).toUpperCase();
}

/** Masks every ID number in `text` to region + last four (520302********0014), whatever its encoding. */
export function redactIdNumbers(text: string): string {
  return text.replace(ID_NUMBER, (found) => {
    const chars = (found.match(TOKEN) ?? []).map(plain).join('');
    return `${chars.slice(0, 6)}********${chars.slice(14)}`;
  });
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
