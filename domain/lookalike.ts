// Characters clerks confuse when they type a pupil's name, and the near-match rule built on them.
// Pure data and functions: the API uses them for "did you mean …?" and duplicate warnings.
//
// Where the confusions come from:
// - 形近字: a name copied from a handwritten form or a blurry photo of a household register (淞/凇, 己/已).
// - 繁简: papers from Hong Kong, Macao, Taiwan or an old register in traditional characters (陈/陳).
// - 同音字: a name heard over the phone, or picked from a pinyin input method's list (which takes no tones:
//   "hua" offers 华, 化, 滑 …). Not a table: the characters' pinyin, read by domain/pinyin.ts.

import { nameReadings, soundLikeness } from './pinyin';

/** The table's kinds (形近, 繁简) and the two of sound: the same pinyin with its tone, or only without tones. */
export type ConfusionKind = 'LOOK_ALIKE' | 'VARIANT' | 'SAME_TONE' | 'SAME_SOUND';

export const CONFUSION_KIND_LABELS: Record<ConfusionKind, string> = {
  LOOK_ALIKE: '形近字',
  VARIANT: '繁简字',
  SAME_TONE: '同音字',
  SAME_SOUND: '音近字（声调不同）',
};

/**
 * How close a near match is, best first: look-alike or variant characters only; same pinyin with tones; same pinyin
 * only without tones. A name ranks as its weakest differing character.
 */
export const MATCH_RANKS = ['LOOK_ALIKE', 'SAME_TONE', 'SAME_SOUND'] as const;
export type MatchRank = (typeof MATCH_RANKS)[number];
const rankOfKind: Record<ConfusionKind, number> = { LOOK_ALIKE: 0, VARIANT: 0, SAME_TONE: 1, SAME_SOUND: 2 };

/** Each string is one group: any two of its characters are easily confused with each other. */
const LOOK_ALIKE = [
  '淞凇',
  '己已巳',
  '戍戌戊',
  '汩汨',
  '祎袆',
  '未末',
  '士土',
  '日曰',
  '侯候',
  '拔拨',
  '辨辩辫',
  '壁璧',
  '徽微',
  '玟玫',
  '晴睛',
  '泠冷',
  '沭沐',
  '翊翌',
  '媛嫒瑗',
  '哲喆',
  '坤堃',
  '淼渺',
  '昱煜',
  '·・•‧', // the middle dot of minority names, typed from different keyboards
];

const VARIANT = [
  '陈陳',
  '刘劉',
  '张張',
  '杨楊',
  '黄黃',
  '赵趙',
  '吴吳',
  '孙孫',
  '马馬',
  '郑鄭',
  '罗羅',
  '谢謝',
  '韩韓',
  '冯馮',
  '邓鄧',
  '萧蕭肖',
  '许許',
  '钟鍾鐘',
  '叶葉',
  '苏蘇',
  '龙龍',
  '华華',
  '国國',
  '伟偉',
  '东東',
  '红紅',
  '军軍',
  '兰蘭',
  '凤鳳',
  '丽麗',
];

export const CONFUSION_GROUPS: readonly { chars: readonly string[]; kind: ConfusionKind }[] = [
  ...LOOK_ALIKE.map((g) => ({ chars: Array.from(g), kind: 'LOOK_ALIKE' as const })),
  ...VARIANT.map((g) => ({ chars: Array.from(g), kind: 'VARIANT' as const })),
];

/** For each character, the groups it belongs to (a character may sit in several: 华 in 华/華 and 华/骅/桦). */
const GROUPS_OF = new Map<string, (typeof CONFUSION_GROUPS)[number][]>();
for (const g of CONFUSION_GROUPS) {
  for (const c of g.chars) GROUPS_OF.set(c, [...(GROUPS_OF.get(c) ?? []), g]);
}

/**
 * How `a` and `b` are confused, or null when they are not: the first group holding both, in the order
 * look-alike, variant, same sound. A character is not confused with itself.
 */
export function confusionKind(a: string, b: string): ConfusionKind | null {
  if (a === b) return null;
  return GROUPS_OF.get(a)?.find((g) => g.chars.includes(b))?.kind ?? null;
}

export function areConfusable(a: string, b: string): boolean {
  return confusionKind(a, b) !== null;
}

/** The characters a clerk may have meant instead of `c` (without `c` itself), in table order. */
export function confusablesOf(c: string): string[] {
  const out = new Set<string>();
  for (const g of GROUPS_OF.get(c) ?? []) for (const x of g.chars) if (x !== c) out.add(x);
  return [...out];
}

/** At most this many characters of a name may differ by look-alike or variant characters (sound may differ in all). */
export const MAX_LOOK_ALIKE_CHARS = 2;

export interface NameDifference {
  /** Position in the name, counted in characters (code points), from 0. */
  index: number;
  /** The character in the first name (what the clerk typed). */
  typed: string;
  /** The character in the second name (what the register holds). */
  found: string;
  kind: ConfusionKind;
}

/** Splits into characters, not UTF-16 units: names may hold CJK Extension B characters (𠇔). */
const chars = (name: string) => Array.from(name.trim());

/**
 * The near-match rule. `typed` and `found` are a near match when, after trimming, they have the same number of
 * characters, differ in at least one place, and at every differing place the two characters are
 * - in one group of the look-alike/variant table above (at most MAX_LOOK_ALIKE_CHARS such places), or
 * - read alike: the same pinyin with its tone, or the same pinyin without tones (a given-name character with any
 *   of its readings; the surname as a surname: 单 is Shàn, so 善 matches it and 丹 does not).
 * Characters are compared in place: no insertions, deletions or reordering. Returns the differences, or null.
 */
export function nameDifferences(typed: string, found: string): NameDifference[] | null {
  const x = chars(typed);
  const y = chars(found);
  if (x.length !== y.length) return null;
  let rx: ReturnType<typeof nameReadings> | null = null;
  let ry: ReturnType<typeof nameReadings> | null = null;
  const out: NameDifference[] = [];
  let lookAlike = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    let kind: ConfusionKind | null = confusionKind(x[i], y[i]);
    if (kind) {
      if (++lookAlike > MAX_LOOK_ALIKE_CHARS) return null;
    } else {
      rx ??= nameReadings(typed);
      ry ??= nameReadings(found);
      kind = soundLikeness(rx[i], ry[i]);
      if (!kind) return null;
    }
    out.push({ index: i, typed: x[i], found: y[i], kind });
  }
  return out.length > 0 ? out : null;
}

/** See nameDifferences for the rule. Symmetric; false for identical names. */
export function isNearMatch(a: string, b: string): boolean {
  return nameDifferences(a, b) !== null;
}

/** The rank of a near match (its weakest difference), or null when the names are no near match. */
export function matchRank(typed: string, found: string): { rank: MatchRank; differences: NameDifference[] } | null {
  const differences = nameDifferences(typed, found);
  if (!differences) return null;
  const worst = Math.max(...differences.map((d) => rankOfKind[d.kind]));
  return { rank: MATCH_RANKS[worst], differences };
}

/**
 * Orders near matches as a clerk should see them: by rank (look-alike, then same pinyin with tones, then without),
 * then fewer differing characters, then the given tie-breaker. Names that are no near match are left out.
 */
export function rankNearMatches<T>(
  typed: string,
  candidates: T[],
  nameOf: (c: T) => string,
  tie: (a: T, b: T) => number,
) {
  const scored = candidates.flatMap((c) => {
    const m = matchRank(typed, nameOf(c));
    return m ? [{ c, rank: MATCH_RANKS.indexOf(m.rank), diffs: m.differences.length, m }] : [];
  });
  scored.sort((a, b) => a.rank - b.rank || a.diffs - b.diffs || tie(a.c, b.c));
  return scored.map((s) => ({ item: s.c, rank: s.m.rank, differences: s.m.differences }));
}
