import fc from 'fast-check';
import {
  areConfusable,
  CONFUSION_GROUPS,
  confusablesOf,
  confusionKind,
  isNearMatch,
  MAX_DIFFERING_CHARS,
  nameDifferences,
  nameVariantCount,
  nameVariants,
} from './lookalike';

describe('the confusion table', () => {
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
    ['陈', '陳', 'VARIANT'],
    ['晨', '宸', 'SAME_SOUND'],
    ['轩', '萱', 'SAME_SOUND'],
    ['琪', '祺', 'SAME_SOUND'],
    ['浩', '灏', 'SAME_SOUND'],
    ['嘉', '佳', 'SAME_SOUND'],
    ['宇', '禹', 'SAME_SOUND'],
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

  test('a character in several groups is confusable with the members of each (华: 華, 骅, 桦)', () => {
    expect(confusablesOf('华').sort()).toEqual(['桦', '華', '骅'].sort());
    expect(areConfusable('華', '骅')).toBe(false);
  });
});

describe('the near-match rule', () => {
  test('one look-alike character: 刘子凇 is a near match of 刘子淞', () => {
    expect(isNearMatch('刘子凇', '刘子淞')).toBe(true);
    expect(nameDifferences('刘子凇', '刘子淞')).toEqual([{ index: 2, typed: '凇', found: '淞', kind: 'LOOK_ALIKE' }]);
  });

  test('two characters may differ, the surname too: 陈雨轩 ~ 陳雨萱', () => {
    expect(isNearMatch('陈雨轩', '陳雨萱')).toBe(true);
    expect(isNearMatch('陈雨轩', '陈宇萱')).toBe(true);
  });

  test(`more than ${MAX_DIFFERING_CHARS} differing characters is another name: 陈雨轩 ≁ 陳宇萱`, () => {
    expect(isNearMatch('陈雨轩', '陳宇萱')).toBe(false);
  });

  test('a differing character outside the table, a different length or an identical name is no near match', () => {
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

  test('nameVariants lists one- and two-character replacements', () => {
    expect(nameVariants('淞')).toEqual(new Set(['凇']));
    expect(nameVariants('王子淞')).toEqual(new Set(['王梓淞', '王紫淞', '王子凇', '王梓凇', '王紫凇']));
    expect(nameVariants('的的')).toEqual(new Set());
  });
});

describe('properties of the near-match rule', () => {
  const tableChars = [...new Set(CONFUSION_GROUPS.flatMap((g) => g.chars))];
  // Names built from table characters (so near matches exist) and a few that are in no group.
  const nameChar = fc.oneof(fc.constantFrom(...tableChars), fc.constantFrom('王', '小', '的', '𠇔'));
  const name = fc.array(nameChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));

  test('is symmetric', () => {
    fc.assert(fc.property(name, name, (a, b) => isNearMatch(a, b) === isNearMatch(b, a)));
  });

  test('nameVariants(n) holds exactly the near matches of n, and nameVariantCount counts them', () => {
    fc.assert(
      fc.property(name, (n) => {
        const variants = nameVariants(n);
        expect(variants.size).toBe(nameVariantCount(n));
        for (const v of variants) expect(isNearMatch(n, v)).toBe(true);
        expect(variants.has(n)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  test('a name mutated in up to two places by confusable characters is a near match, and in three is not', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tableChars), { minLength: 3, maxLength: 6 }), fc.nat(), (cs, seed) => {
        const positions = [0, 1, 2].map((k) => (seed + k) % cs.length);
        const mutate = (n: number) => {
          const out = [...cs];
          for (const p of positions.slice(0, n)) out[p] = confusablesOf(cs[p])[seed % confusablesOf(cs[p]).length];
          return out.join('');
        };
        expect(isNearMatch(cs.join(''), mutate(1))).toBe(true);
        expect(isNearMatch(cs.join(''), mutate(2))).toBe(true);
        expect(isNearMatch(cs.join(''), mutate(3))).toBe(false);
      }),
    );
  });
});
