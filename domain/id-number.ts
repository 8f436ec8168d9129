// GB 11643-1999 resident ID numbers and 全国学籍号 (national student numbers).

import { shanghaiDate } from './calendar';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/** The check character (ISO 7064 MOD 11-2) for the first 17 digits. */
export function idCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARS[sum % 11];
}

export type IdNumberProblem = 'FORMAT' | 'REGION' | 'BIRTH_DATE' | 'CHECK_CHAR';

export type IdNumberResult =
  | { ok: true; idNumber: string; regionCode: string; birthDate: string; gender: 'MALE' | 'FEMALE' }
  | { ok: false; problem: IdNumberProblem; message: string };

/** ISO date (YYYY-MM-DD) if the eight digits are a real calendar date, else null. */
function calendarDate(yyyymmdd: string): string | null {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (m < 1 || m > 12 || d < 1) return null;
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d > daysInMonth) return null;
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

/**
 * Validates an 18-character resident ID number. `today` bounds the birth date (no one is born in
 * the future, nobody in a school register was born before 1900): by default the day in China, as the
 * registration form's birth date is checked — in UTC a child born after midnight Beijing time would be
 * born "tomorrow" until 08:00.
 */
export function parseIdNumber(raw: string, today: string = shanghaiDate(Date.now())): IdNumberResult {
  const idNumber = raw.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(idNumber)) {
    return { ok: false, problem: 'FORMAT', message: '身份证号应为 18 位：17 位数字加 1 位校验码（数字或 X）' };
  }
  const regionCode = idNumber.slice(0, 6);
  if (!/^[1-9]\d{5}$/.test(regionCode)) {
    return { ok: false, problem: 'REGION', message: '身份证号前 6 位行政区划代码无效' };
  }
  const birthDate = calendarDate(idNumber.slice(6, 14));
  if (!birthDate || birthDate < '1900-01-01' || birthDate > today) {
    return { ok: false, problem: 'BIRTH_DATE', message: '身份证号中的出生日期（第 7–14 位）不是有效日期' };
  }
  if (idCheckChar(idNumber) !== idNumber[17]) {
    return { ok: false, problem: 'CHECK_CHAR', message: '身份证号校验码不正确，请核对是否输错' };
  }
  const gender = Number(idNumber[16]) % 2 === 1 ? 'MALE' : 'FEMALE';
  return { ok: true, idNumber, regionCode, birthDate, gender };
}

export function isValidIdNumber(raw: string): boolean {
  return parseIdNumber(raw).ok;
}

/** 全国学籍号 for a pupil with an ID number: 'G' + the 18 characters. */
export function studentNoFromIdNumber(idNumber: string): string {
  return `G${idNumber.toUpperCase()}`;
}

/** 'G' + a valid ID number, or a temporary 'L' number (无户籍) of 'L' + 18 digits/letters. */
export function isValidStudentNo(studentNo: string): boolean {
  if (/^G\d{17}[\dX]$/.test(studentNo)) return isValidIdNumber(studentNo.slice(1));
  return /^L[0-9A-Z]{18}$/.test(studentNo);
}

/** Masks an ID number for lists, mails and logs: 520302********0014. */
export function maskIdNumber(idNumber: string | null | undefined): string | null {
  if (!idNumber) return null;
  if (idNumber.length < 10) return '*'.repeat(idNumber.length);
  return `${idNumber.slice(0, 6)}${'*'.repeat(idNumber.length - 10)}${idNumber.slice(-4)}`;
}

/** Masks the ID part of a 学籍号, keeping its prefix letter: G520302********0014. */
export function maskStudentNo(studentNo: string): string {
  return `${studentNo[0]}${maskIdNumber(studentNo.slice(1))}`;
}

/**
 * Masks all but the 6-digit region of an ID number (520302************): what a caller outside the pupil's reach
 * may see (DESIGN §5 "Reach"). With the birth date and the last four hidden, nothing rebuilds the number.
 */
export function maskIdNumberToRegion(idNumber: string | null | undefined): string | null {
  if (!idNumber) return null;
  return `${idNumber.slice(0, 6)}${'*'.repeat(Math.max(0, idNumber.length - 6))}`;
}

/** The same for a 学籍号, keeping its prefix letter: G520302************. */
export function maskStudentNoToRegion(studentNo: string): string {
  return `${studentNo[0]}${maskIdNumberToRegion(studentNo.slice(1))}`;
}

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
const ID_IN_TEXT = new RegExp(`${BEFORE}${DIGIT}{17}${CHECK}${AFTER}`, 'g');
const ID_TOKEN = new RegExp(CHECK, 'g');

/** One character of an ID number as written (5, %35, \u0035, \\u0035, ５, %58, Ｘ …) as plain ASCII. */
function plainIdChar(token: string): string {
  if (token.length === 1) {
    const c = token.charCodeAt(0);
    return c >= 0xff10 ? String.fromCharCode(c - 0xfee0).toUpperCase() : token.toUpperCase();
  }
  const hex = token.startsWith('%') ? token.slice(1) : token.slice(-2);
  return String.fromCharCode(parseInt(hex, 16)).toUpperCase();
}

/**
 * `text` with every ID number in it, however encoded, replaced by what `replace` makes of its plain 18 characters —
 * masks for logs and audit rows (infra/logger.ts), and for free text shown outside a pupil's reach.
 */
export function replaceIdNumbers(text: string, replace: (idNumber: string) => string): string {
  return text.replace(ID_IN_TEXT, (found) => replace((found.match(ID_TOKEN) ?? []).map(plainIdChar).join('')));
}
