import fc from 'fast-check';
import { idCheckChar, isValidStudentNo, maskIdNumber, maskStudentNo, parseIdNumber } from './id-number';

const TODAY = '2026-11-22';
const DAY = 86_400_000;
const FIRST_DAY = Date.UTC(1990, 0, 1);
const LAST_DAY = Date.UTC(2025, 11, 31);

/** A region code: six digits, not starting with 0. */
const region = fc.integer({ min: 100000, max: 999999 }).map(String);
/** A real calendar date in 1990–2025, as YYYY-MM-DD (built from a day count, so never 30 February). */
const birthDate = fc
  .integer({ min: 0, max: (LAST_DAY - FIRST_DAY) / DAY })
  .map((n) => new Date(FIRST_DAY + n * DAY).toISOString().slice(0, 10));
const sequence = fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0'));

/** A valid ID number with the parts it was built from. */
const validId = fc.tuple(region, birthDate, sequence).map(([r, date, seq]) => {
  const first17 = `${r}${date.replace(/-/g, '')}${seq}`;
  return { idNumber: first17 + idCheckChar(first17), region: r, birthDate: date, seq };
});

const DIGITS = '0123456789';

describe('GB 11643 ID numbers, for arbitrary valid parts', () => {
  test('17 digits plus their check character parse, with the same birth date and the gender of the 17th digit', () => {
    fc.assert(
      fc.property(validId, ({ idNumber, region: r, birthDate: date, seq }) => {
        expect(parseIdNumber(idNumber, TODAY)).toEqual({
          ok: true,
          idNumber,
          regionCode: r,
          birthDate: date,
          gender: Number(seq[2]) % 2 === 1 ? 'MALE' : 'FEMALE',
        });
      }),
    );
  });

  // Changing digit i by δ (1 ≤ |δ| ≤ 9) changes the weighted sum by w_i·δ. 11 is prime and neither
  // w_i (1…10) nor δ is a multiple of 11, so the sum mod 11 — and with it the check character, one
  // per residue — always changes. Changing the check character itself names another residue. So a
  // single changed character always breaks MOD 11-2, even when it turns the date into another real
  // date; parseIdNumber may report the region or the date first, but never accepts the number.
  test('changing any one of the 18 characters to another valid character is always caught', () => {
    const mutation = fc.tuple(validId, fc.integer({ min: 0, max: 17 }), fc.constantFrom(...`${DIGITS}X`));
    fc.assert(
      fc.property(
        mutation.filter(([{ idNumber }, pos, c]) => idNumber[pos] !== c && (pos === 17 || c !== 'X')),
        ([{ idNumber }, pos, c]) => {
          const changed = idNumber.slice(0, pos) + c + idNumber.slice(pos + 1);
          expect(idCheckChar(changed.slice(0, 17))).not.toBe(changed[17]);
          const r = parseIdNumber(changed, TODAY);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(['REGION', 'BIRTH_DATE', 'CHECK_CHAR']).toContain(r.problem);
        },
      ),
    );
  });

  test('eight digits that are no calendar date are refused as a birth date', () => {
    fc.assert(
      fc.property(
        region,
        fc.integer({ min: 1990, max: 2025 }),
        fc.integer({ min: 0, max: 19 }),
        fc.integer({ min: 0, max: 39 }),
        sequence,
        (r, y, m, d, seq) => {
          const real = m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
          const first17 = `${r}${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}${seq}`;
          const result = parseIdNumber(first17 + idCheckChar(first17), TODAY);
          expect(result.ok).toBe(real);
          if (!result.ok) expect(result.problem).toBe('BIRTH_DATE');
        },
      ),
    );
  });

  test('the masked number never shows the middle eight digits (the birth date)', () => {
    fc.assert(
      fc.property(validId, ({ idNumber }) => {
        const masked = maskIdNumber(idNumber)!;
        expect(masked).toHaveLength(18);
        expect(masked).not.toContain(idNumber.slice(6, 14));
        expect(masked).toBe(`${idNumber.slice(0, 6)}********${idNumber.slice(14)}`);
        expect(maskStudentNo(`G${idNumber}`)).not.toContain(idNumber.slice(6, 14));
      }),
    );
  });

  test("'G' + a valid ID number is a valid 学籍号", () => {
    fc.assert(fc.property(validId, ({ idNumber }) => isValidStudentNo(`G${idNumber}`)));
  });
});
