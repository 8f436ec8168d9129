// References and codes printed for the public pages (DESIGN §5 "Public pages"): what a person types from a paper,
// forgiving what people get wrong when they type it. Pure, shared by the API and the console.

/** Crockford's base32: no I, L, O or U, so nothing on paper is read two ways. 5 bits a character. */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Characters of a reference (40 bits) and of a code (50 bits: DESIGN asks for at least 40). */
export const REF_LENGTH = 8;
export const CODE_LENGTH = 10;

/**
 * As typed to as stored: full-width characters and lowercase letters folded, spaces and dashes dropped, the
 * letters people type for digits (O → 0, I and L → 1) mapped as Crockford does. Null when it cannot be one.
 */
export function normalisePublicCode(input: unknown, length: number): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const s = input
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .toUpperCase()
    .replace(/[\s\-\u3000]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (s.length !== length) return null;
  for (const c of s) if (!CODE_ALPHABET.includes(c)) return null;
  return s;
}

/** For printing and reading aloud: groups of four (K7QM-2XD9-PA). */
export const groupCode = (s: string) => s.match(/.{1,4}/g)!.join('-');

/**
 * A name as the public pages may show it: the surname and the last character, the rest starred (张*明, 王**堃, 李*).
 * A minority name with a middle dot keeps its first and last character only.
 */
export function maskName(name: string): string {
  const chars = Array.from(name.trim());
  if (chars.length <= 1) return '*';
  if (chars.length === 2) return `${chars[0]}*`;
  return `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`;
}
