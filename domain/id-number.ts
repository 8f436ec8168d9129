// GB 11643-1999 resident ID numbers and 全国学籍号 (national student numbers).

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
 * the future, nobody in a school register was born before 1900).
 */
export function parseIdNumber(raw: string, today: string = new Date().toISOString().slice(0, 10)): IdNumberResult {
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
