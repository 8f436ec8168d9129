// The one rule for text a person typed (DESIGN §5 "Free text"): what may be stored, shown, mailed and printed.
// Pure, so the API's zod type, the workflow's Update validators and the activities all apply the same rule.

/**
 * Characters refused anywhere in user-typed text: NUL and the other C0 controls except tab (U+0009) and
 * newline (U+000A, and U+000D so a Windows line break passes), DEL and the C1 controls, the bidi
 * overrides/embeddings/isolates that reorder what a reader sees (U+202A–U+202E, U+2066–U+2069), and
 * lone UTF-16 surrogates (not text at all: Postgres and mail refuse them).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type TextProblem = 'control' | 'surrogate' | 'bidi';

/** Why `s` is not acceptable text, or null when it is. */
export function textProblem(s: string): TextProblem | null {
  if (LONE_SURROGATE.test(s)) return 'surrogate';
  const m = FORBIDDEN.exec(s);
  if (!m) return null;
  const c = m[0].charCodeAt(0);
  return c >= 0x202a ? 'bidi' : 'control';
}

export const TEXT_PROBLEM_MESSAGES: Record<TextProblem, string> = {
  control: '含有不可见的控制字符，请删除后重新输入（可从其他软件复制时带入）',
  surrogate: '含有无法识别的字符（编码损坏），请重新输入',
  bidi: '含有改变文字显示方向的控制字符，请删除后重新输入',
};

/** The message for a field whose text is refused, or null. */
export function textError(s: string): string | null {
  const p = textProblem(s);
  return p ? TEXT_PROBLEM_MESSAGES[p] : null;
}

const FORBIDDEN_ALL = new RegExp(FORBIDDEN.source, 'g');
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g');

/** `s` without the characters the rule refuses (an administrator's repair of a stored value). */
export function stripForbidden(s: string): string {
  return s.replace(LONE_SURROGATE_ALL, '').replace(FORBIDDEN_ALL, '');
}

/**
 * The first string inside `value` (a string, or arrays/objects of them, e.g. a case's `details`) that breaks the
 * rule, with its path: `['details', 'destination']`. Keys are checked too. Null when all is clean.
 */
export function findDirtyText(value: unknown, path: string[] = []): { path: string[]; message: string } | null {
  if (typeof value === 'string') {
    const message = textError(value);
    return message ? { path, message } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findDirtyText(value[i], [...path, String(i)]);
      if (hit) return hit;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const keyMessage = textError(k);
      if (keyMessage) return { path: [...path, k], message: keyMessage };
      const hit = findDirtyText(v, [...path, k]);
      if (hit) return hit;
    }
  }
  return null;
}

/** Full-width digits and letters (０-９, Ｘ) as typed by a Chinese IME, to ASCII; a lowercase x to X. */
export function normaliseIdInput(s: string): string {
  return s
    .replace(/[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .trim()
    .toUpperCase();
}
