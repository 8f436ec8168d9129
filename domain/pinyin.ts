// How a pupil's name sounds, for finding a name that was misheard or typed with a pinyin input method (which
// takes no tones, so "hua" offers 华, 化, 滑, 花 … and the clerk picks the wrong one).
//
// pinyin-pro (MIT, maintained, ~0.5M downloads a month) reads characters in context, knows the readings of
// polyphonic characters and, with `surname: 'head'`, reads a surname as a surname: 单 Shàn, 曾 Zēng, 解 Xiè,
// 华 Huà, 区 Ōu — not dān, céng, jiě. A fixed table of same-sound groups cannot do that and misses every
// character nobody thought of.

import { pinyin } from 'pinyin-pro';

/** The readings of one character of a name. */
export interface CharReading {
  char: string;
  /** The reading in this name, with its tone mark (shàn); the character itself when it is no Han character. */
  toned: string;
  /**
   * Toneless readings that count as "sounds the same": the reading in this name, and for a given-name
   * character also its other readings (乐 in a given name may be lè or yuè). A surname is read as a surname only.
   */
  toneless: ReadonlySet<string>;
}

const stripTones = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ü/g, 'v');

/** Other readings of one character (heteronyms), cached: names repeat their characters endlessly. */
const heteronymCache = new Map<string, string[]>();
function heteronyms(char: string): string[] {
  let out = heteronymCache.get(char);
  if (!out) {
    out = pinyin(char, { multiple: true, type: 'array', toneType: 'none' }).map(stripTones);
    heteronymCache.set(char, out);
  }
  return out;
}

const readingCache = new Map<string, CharReading[]>();
const READING_CACHE_SIZE = 50_000;

/**
 * The readings of a name, character by character (code points: 𠇔 is one character). The first character is read
 * as a surname (a compound surname such as 欧阳 as one); the others in context, and for the toneless comparison
 * with every reading they have.
 */
export function nameReadings(name: string): CharReading[] {
  const key = name.trim();
  const cached = readingCache.get(key);
  if (cached) return cached;
  const chars = Array.from(key);
  const toned = pinyin(key, { type: 'array', surname: 'head', nonZh: 'consecutive' });
  // pinyin-pro returns one entry per character for Han text; for anything else fall back to the characters.
  const aligned = toned.length === chars.length ? toned : chars;
  const out = chars.map((char, i) => {
    const reading = aligned[i] || char;
    const isHan = /\p{Script=Han}/u.test(char) && reading !== char;
    const toneless = new Set([stripTones(reading)]);
    if (isHan && i > 0) for (const h of heteronyms(char)) toneless.add(h);
    return { char, toned: reading, toneless };
  });
  if (readingCache.size >= READING_CACHE_SIZE) readingCache.delete(readingCache.keys().next().value!);
  readingCache.set(key, out);
  return out;
}

/** How two characters at the same place of two names sound alike: the same toned reading, only toneless, or not. */
export function soundLikeness(a: CharReading, b: CharReading): 'SAME_TONE' | 'SAME_SOUND' | null {
  if (a.char === b.char) return 'SAME_TONE';
  const han = /\p{Script=Han}/u;
  if (!han.test(a.char) || !han.test(b.char)) return null;
  if (a.toned === b.toned) return 'SAME_TONE';
  for (const r of a.toneless) if (b.toneless.has(r)) return 'SAME_SOUND';
  return null;
}

/** A name as pinyin, for hints: "Shàn Xiǎomíng" is not needed, "shàn xiǎo míng" is enough. */
export const pinyinOf = (name: string) =>
  nameReadings(name)
    .map((r) => r.toned)
    .join(' ');
