// Characters clerks confuse when they type a pupil's name, and the near-match rule built on them.
// Pure data and functions: the API uses them for "did you mean …?" and duplicate warnings, and a
// workflow could import them too.
//
// Where the confusions come from:
// - 形近字: a name copied from a handwritten form or a blurry photo of a household register (淞/凇, 己/已).
// - 繁简: papers from Hong Kong, Macao, Taiwan or an old register in traditional characters (陈/陳).
// - 同音字: pinyin input methods take no tones, so "xuan" offers 轩, 萱, 宣 … and the clerk picks the
//   wrong one. The groups below are same pinyin, tone ignored, and limited to characters common in
//   given names (a group of every "yi" would match nearly anyone).

export type ConfusionKind = 'LOOK_ALIKE' | 'VARIANT' | 'SAME_SOUND';

export const CONFUSION_KIND_LABELS: Record<ConfusionKind, string> = {
  LOOK_ALIKE: '形近字',
  VARIANT: '繁简字',
  SAME_SOUND: '同音字',
};

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

const SAME_SOUND = [
  '晨辰宸臣', // chen
  '轩萱宣暄煊璇瑄', // xuan
  '涵含菡晗寒', // han
  '怡宜仪贻颐', // yi (2nd tone)
  '琪琦淇祺棋旗麒', // qi
  '明鸣铭茗名', // ming
  '华骅桦', // hua
  '磊垒蕾', // lei
  '芳方舫坊', // fang
  '欣馨昕新鑫心', // xin
  '瑶遥谣尧', // yao
  '浩皓昊灏颢', // hao
  '婷亭庭霆廷', // ting
  '娜那', // na
  '丽莉俐立', // li
  '静婧靖晶菁', // jing
  '雯文玟闻', // wen
  '博波柏泊', // bo
  '杰洁捷婕颉', // jie
  '俊骏峻君钧军', // jun
  '泽择则', // ze
  '宇雨语禹羽屿', // yu (3rd tone)
  '嘉佳家加珈迦', // jia
  '梓子紫', // zi
  '诗师施', // shi
  '涛韬滔', // tao
  '琳林霖淋麟', // lin
  '彬斌滨宾冰', // bin, bing
  '凯楷恺铠锴', // kai
  '航杭', // hang
  '然燃', // ran
  '奕亦逸毅艺屹', // yi (4th tone)
  '悦越月玥跃', // yue
  '曦希熙溪夕', // xi
  '妍研言岩颜', // yan (2nd tone)
  '芸云昀筠耘', // yun
  '彤桐童瞳潼', // tong
  '睿锐瑞蕊', // rui
  '钰玉煜昱毓育', // yu (4th tone)
  '梦孟', // meng
  '思斯丝司', // si
  '晓小筱', // xiao
  '洋阳扬杨旸', // yang
  '婉琬宛菀', // wan
  '雅亚娅', // ya
  '宁凝柠', // ning
  '凡帆繁樊', // fan
  '天添', // tian (1st tone)
  '田甜恬', // tian (2nd tone)
  '佑祐右又', // you
  '志智致稚', // zhi
  '伟玮炜苇纬', // wei
  '慧惠蕙', // hui
  '可珂柯', // ke
  '萍平苹', // ping
  '红宏洪鸿虹弘泓', // hong
  '峰锋丰枫风', // feng
  '健建剑', // jian
  '娟鹃涓', // juan
  '玲铃灵伶龄凌', // ling
  '露璐路潞鹭', // lu
  '倩茜', // qian
  '燕艳雁彦', // yan (4th tone)
  '蓉荣容融榕', // rong
];

export const CONFUSION_GROUPS: readonly { chars: readonly string[]; kind: ConfusionKind }[] = [
  ...LOOK_ALIKE.map((g) => ({ chars: Array.from(g), kind: 'LOOK_ALIKE' as const })),
  ...VARIANT.map((g) => ({ chars: Array.from(g), kind: 'VARIANT' as const })),
  ...SAME_SOUND.map((g) => ({ chars: Array.from(g), kind: 'SAME_SOUND' as const })),
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

/** At most this many characters of a name may differ for it to be a near match. */
export const MAX_DIFFERING_CHARS = 2;

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
 * The near-match rule. `typed` and `found` are a near match when, after trimming:
 * - they have the same number of characters,
 * - they differ in at least one and at most MAX_DIFFERING_CHARS (2) positions, and
 * - at every differing position the two characters are in one confusion group above.
 * Identical names are not a near match (they are an exact one). Characters are compared in place:
 * no insertions, deletions or reordering. Returns the differences, or null when not a near match.
 */
export function nameDifferences(typed: string, found: string): NameDifference[] | null {
  const x = chars(typed);
  const y = chars(found);
  if (x.length !== y.length) return null;
  const out: NameDifference[] = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    const kind = confusionKind(x[i], y[i]);
    if (!kind || out.length === MAX_DIFFERING_CHARS) return null;
    out.push({ index: i, typed: x[i], found: y[i], kind });
  }
  return out.length > 0 ? out : null;
}

/** See nameDifferences for the rule. Symmetric; false for identical names. */
export function isNearMatch(a: string, b: string): boolean {
  return nameDifferences(a, b) !== null;
}

/**
 * How many names nameVariants(name) would return, without building them — so a caller can decide
 * whether to look the variants up one by one or to scan names of that length instead.
 */
export function nameVariantCount(name: string): number {
  const alternatives = chars(name).map((c) => confusablesOf(c).length);
  let one = 0;
  let two = 0;
  for (const n of alternatives) {
    two += one * n; // pairs of positions: n alternatives here times every single change before
    one += n;
  }
  return one + two;
}

/**
 * Every name that is a near match of `name` (exactly the names b with isNearMatch(name, b)): one or
 * two characters replaced by a confusable one. Does not contain `name` itself.
 */
export function nameVariants(name: string): Set<string> {
  const x = chars(name);
  const out = new Set<string>();
  for (let i = 0; i < x.length; i++) {
    for (const a of confusablesOf(x[i])) {
      const once = [...x];
      once[i] = a;
      out.add(once.join(''));
      for (let j = i + 1; j < x.length; j++) {
        for (const b of confusablesOf(x[j])) {
          const twice = [...once];
          twice[j] = b;
          out.add(twice.join(''));
        }
      }
    }
  }
  return out;
}
