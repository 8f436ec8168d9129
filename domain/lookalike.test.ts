import fc from 'fast-check';
import {
  areConfusable,
  CONFUSION_GROUPS,
  confusablesOf,
  confusionKind,
  isNearMatch,
  MAX_LOOK_ALIKE_CHARS,
  matchRank,
  nameDifferences,
  rankNearMatches,
} from './lookalike';
import { nameReadings, pinyinOf } from './pinyin';

describe('the look-alike and variant table', () => {
  test('has at least 40 groups, each of two or more distinct single characters', () => {
    expect(CONFUSION_GROUPS.length).toBeGreaterThanOrEqual(40);
    for (const g of CONFUSION_GROUPS) {
      expect(g.chars.length).toBeGreaterThanOrEqual(2);
      expect(new Set(g.chars).size).toBe(g.chars.length);
      for (const c of g.chars) expect(Array.from(c)).toHaveLength(1);
    }
  });

  test.each([
    ['淞', '凇', 'LOOK_ALIKE'],
    ['己', '巳', 'LOOK_ALIKE'],
    ['戌', '戊', 'LOOK_ALIKE'],
    ['汩', '汨', 'LOOK_ALIKE'],
    ['祎', '袆', 'LOOK_ALIKE'],
    ['哲', '喆', 'LOOK_ALIKE'],
    ['陈', '陳', 'VARIANT'],
  ])('%s and %s are confused (%s), both ways', (a, b, kind) => {
    expect(confusionKind(a, b)).toBe(kind);
    expect(confusionKind(b, a)).toBe(kind);
  });

  test('a character is not confused with itself, nor with an unrelated one', () => {
    expect(areConfusable('淞', '淞')).toBe(false);
    expect(areConfusable('淞', '明')).toBe(false);
    expect(confusablesOf('淞')).toEqual(['凇']);
    expect(confusablesOf('的')).toEqual([]);
  });
});

describe('pinyin of names', () => {
  test.each([
    ['单小明', 'shàn xiǎo míng'],
    ['曾小明', 'zēng xiǎo míng'],
    ['解小明', 'xiè xiǎo míng'],
    ['李华', 'lǐ huá'],
  ])('%s reads %s (a polyphonic surname as a surname)', (name, reading) => {
    expect(pinyinOf(name)).toBe(reading);
  });

  test('a given-name character counts with all its readings without tones; a surname only as a surname', () => {
    const [surname, given] = nameReadings('乐乐');
    expect([...surname.toneless]).toEqual(['yue']);
    expect([...given.toneless]).toEqual(expect.arrayContaining(['le', 'yue']));
  });
});

describe('the near-match rule', () => {
  test('one look-alike character: 刘子凇 is a near match of 刘子淞', () => {
    expect(isNearMatch('刘子凇', '刘子淞')).toBe(true);
    expect(nameDifferences('刘子凇', '刘子淞')).toEqual([{ index: 2, typed: '凇', found: '淞', kind: 'LOOK_ALIKE' }]);
  });

  test('李滑 sounds exactly like 李华 (huá); 李化 only without tones (huà)', () => {
    expect(matchRank('李滑', '李华')?.rank).toBe('SAME_TONE');
    expect(matchRank('李化', '李华')?.rank).toBe('SAME_SOUND');
  });

  test('章小明 and 张小明 are both zhāng: a different surname character that sounds the same', () => {
    expect(nameDifferences('章小明', '张小明')).toEqual([{ index: 0, typed: '章', found: '张', kind: 'SAME_TONE' }]);
  });

  test.each([
    ['善小明', '单小明', true],
    ['丹小明', '单小明', false],
    ['增小明', '曾小明', true],
    ['层小明', '曾小明', false],
    ['谢小明', '解小明', true],
    ['姐小明', '解小明', false],
  ])('polyphonic surnames are read as surnames: %s ~ %s is %s', (typed, found, near) => {
    expect(isNearMatch(typed, found)).toBe(near);
  });

  test('every character may differ by sound (a name heard over the phone), at most two by look-alike characters', () => {
    expect(matchRank('章晓鸣', '张小明')?.rank).toBe('SAME_TONE');
    expect(isNearMatch('陈雨轩', '陳雨轩')).toBe(true);
    expect(MAX_LOOK_ALIKE_CHARS).toBe(2);
    expect(isNearMatch('陈己淞', '陳巳凇')).toBe(false);
  });

  test('a differing character that neither looks nor sounds alike, a different length or an identical name is no near match', () => {
    expect(isNearMatch('张小明', '张小红')).toBe(false);
    expect(isNearMatch('张明', '张小明')).toBe(false);
    expect(isNearMatch('张小明', '张小明')).toBe(false);
    expect(isNearMatch(' 刘子凇 ', '刘子淞')).toBe(true);
  });

  test('characters beyond the Basic Multilingual Plane count as one character', () => {
    expect(isNearMatch('𠇔子凇', '𠇔子淞')).toBe(true);
    expect(isNearMatch('𠇔子凇', '王子子淞')).toBe(false);
  });

  test('minority names: the middle dot typed from another keyboard is a near match', () => {
    expect(isNearMatch('阿依·古丽', '阿依・古丽')).toBe(true);
  });

  test('ranking: look-alike before same pinyin with tones before without; then fewer differences', () => {
    const found = ['李画', '李华', '李桦', '李花', '李滑'];
    // Typed 李哗 (huá): 李华 and 李滑 sound the same with tones, 李画 (huà) and 李花 (huā) only without.
    const ranked = rankNearMatches(
      '李哗',
      found,
      (n) => n,
      (a, b) => a.localeCompare(b),
    );
    expect(ranked.map((r) => r.rank)).toEqual(
      [...ranked.map((r) => r.rank)].sort(
        (a, b) =>
          ['LOOK_ALIKE', 'SAME_TONE', 'SAME_SOUND'].indexOf(a) - ['LOOK_ALIKE', 'SAME_TONE', 'SAME_SOUND'].indexOf(b),
      ),
    );
    expect(
      ranked
        .slice(0, 2)
        .map((r) => r.item)
        .sort(),
    ).toEqual(['李华', '李滑'].sort());
    expect(ranked.find((r) => r.item === '李花')?.rank).toBe('SAME_SOUND');
    const withLookAlike = rankNearMatches(
      '刘子凇',
      ['刘子松', '刘子淞'],
      (n) => n,
      () => 0,
    );
    expect(withLookAlike.map((r) => r.item)).toEqual(['刘子淞', '刘子松']);
  });
});

describe('properties of the near-match rule', () => {
  const tableChars = [...new Set(CONFUSION_GROUPS.flatMap((g) => g.chars))];
  // Names of table characters, characters with many homophones, and a few others.
  const nameChar = fc.oneof(
    fc.constantFrom(...tableChars),
    fc.constantFrom('华', '滑', '化', '花', '单', '善', '曾', '增', '乐', '悦'),
    fc.constantFrom('王', '小', '的', '𠇔'),
  );
  const name = fc.array(nameChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));

  test('is symmetric', () => {
    fc.assert(fc.property(name, name, (a, b) => isNearMatch(a, b) === isNearMatch(b, a)));
  });

  test('a name mutated in up to two places by look-alike characters is a near match, in three it is not', () => {
    const lookAlike = CONFUSION_GROUPS.filter(
      (g) => g.kind === 'LOOK_ALIKE' && g.chars.every((c) => /\p{Script=Han}/u.test(c)),
    );
    const chars = [...new Set(lookAlike.flatMap((g) => g.chars))];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { minLength: 3, maxLength: 6 }), fc.nat(), (cs, seed) => {
        const positions = [0, 1, 2].map((k) => (seed + k) % cs.length);
        const mutate = (n: number) => {
          const out = [...cs];
          for (const p of positions.slice(0, n)) out[p] = confusablesOf(cs[p])[seed % confusablesOf(cs[p]).length];
          return out.join('');
        };
        expect(isNearMatch(cs.join(''), mutate(1))).toBe(true);
        expect(isNearMatch(cs.join(''), mutate(2))).toBe(true);
        // Three look-alike changes: a near match only if some change also sounds the same (淞/凇 are both sōng).
        const third = nameDifferences(cs.join(''), mutate(3));
        if (third) expect(third.some((d) => d.kind === 'SAME_TONE' || d.kind === 'SAME_SOUND')).toBe(true);
      }),
    );
  });
});
