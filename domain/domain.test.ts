import { CHANGE_TYPE_SPECS } from './change-types/registry';
import { CHANGE_TYPES, movesPupil, recordAfter, reversalPatch, specOf, type ChangeType } from './change-types';
import { buildChain } from './chain';
import { idCheckChar, isValidStudentNo, maskIdNumber, maskStudentNo, parseIdNumber } from './id-number';
import { checkChangeLegal, statusAfter } from './status-machine';
import { todayIso } from '../api/schemas/common';

describe('GB 11643 ID numbers', () => {
  test.each([
    ['11010519491231002X', '1949-12-31', 'FEMALE'],
    ['440524188001010014', '1880-01-01', 'MALE'],
    ['520302201505050014', '2015-05-05', 'MALE'],
    ['520302201508120022', '2015-08-12', 'FEMALE'],
  ])('accepts the published or demo number %s', (id, birthDate, gender) => {
    const r = parseIdNumber(id, '2026-11-22');
    if (id.startsWith('4405241880')) {
      // Born before 1900: a valid check character, but no pupil was born then.
      expect(r).toMatchObject({ ok: false, problem: 'BIRTH_DATE' });
      return;
    }
    expect(r).toEqual({ ok: true, idNumber: id, regionCode: id.slice(0, 6), birthDate, gender });
  });

  test('the check character follows ISO 7064 MOD 11-2', () => {
    expect(idCheckChar('11010519491231002')).toBe('X');
    expect(idCheckChar('52030220150505001')).toBe('4');
  });

  test.each([
    ['520302201505050015', 'CHECK_CHAR'],
    ['52030220150505001', 'FORMAT'],
    ['52030220150505001Y', 'FORMAT'],
    ['520302201502300011', 'BIRTH_DATE'], // 30 February
    ['520302203001010011', 'BIRTH_DATE'], // in the future
    ['020302201505050011', 'REGION'],
  ])('refuses %s (%s)', (id, problem) => {
    const r = parseIdNumber(id, '2026-11-22');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem).toBe(problem);
      expect(r.message).toMatch(/身份证号/);
    }
  });

  test('a lower-case x is read as X', () => {
    expect(parseIdNumber('11010519491231002x', '2026-11-22')).toMatchObject({
      ok: true,
      idNumber: '11010519491231002X',
    });
  });

  test('student numbers: G + a valid ID number, or a temporary L number', () => {
    expect(isValidStudentNo('G520302201505050014')).toBe(true);
    expect(isValidStudentNo('G520302201505050015')).toBe(false);
    expect(isValidStudentNo('L52030220150505001A')).toBe(true);
    expect(isValidStudentNo('520302201505050014')).toBe(false);
  });

  test('masking keeps the region and the last four characters only', () => {
    expect(maskIdNumber('520302201505050014')).toBe('520302********0014');
    expect(maskStudentNo('G520302201505050014')).toBe('G520302********0014');
    expect(maskIdNumber(null)).toBeNull();
  });
});

describe('"today" is the day in China (Asia/Shanghai), not in UTC', () => {
  // 01:00 on 2 December in Beijing: in UTC it is still 1 December.
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T17:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  test("todayIso, the API's today, is 2026-12-02", () => {
    expect(todayIso()).toBe('2026-12-02');
  });

  test('parseIdNumber with no today accepts a pupil born on 2 December, and not one born on the 3rd', () => {
    const born = (day: string) => parseIdNumber(`110105${day}001` + idCheckChar(`110105${day}001`));
    expect(born('20261202')).toMatchObject({ ok: true, birthDate: '2026-12-02' });
    expect(born('20261203')).toMatchObject({ ok: false, problem: 'BIRTH_DATE' });
  });
});

describe('approval chains', () => {
  const hhg1 = { code: '5203020001', countyCode: '520302' };
  const hhg2 = { code: '5203020002', countyCode: '520302' };
  const nj1 = { code: '5119220001', countyCode: '511922' };

  test('a transfer between counties: receiving school, receiving county, sending school, sending county', () => {
    expect(buildChain('TRANSFER', hhg1, nj1)).toEqual([
      { stage: 'RECEIVING_SCHOOL', orgCode: '5119220001' },
      { stage: 'RECEIVING_COUNTY', orgCode: '511922' },
      { stage: 'SENDING_SCHOOL', orgCode: '5203020001' },
      { stage: 'SENDING_COUNTY', orgCode: '520302' },
    ]);
  });

  test('within one county the bureau acts once', () => {
    expect(buildChain('TRANSFER', hhg1, hhg2).map((s) => s.stage)).toEqual([
      'RECEIVING_SCHOOL',
      'RECEIVING_COUNTY',
      'SENDING_SCHOOL',
    ]);
  });

  test('other changes go to the pupil’s school, then its county', () => {
    expect(buildChain('SUSPEND', hhg1)).toEqual([
      { stage: 'SCHOOL', orgCode: '5203020001' },
      { stage: 'COUNTY', orgCode: '520302' },
    ]);
    expect(() => buildChain('TRANSFER', hhg1)).toThrow();
  });
});

describe('pupil status machine', () => {
  const enrolled = { status: 'ENROLLED' as const, problemFlag: false, grade: 3 };
  test('a pupil in school may transfer; a suspended or flagged one may not, with a reason for the clerk', () => {
    expect(checkChangeLegal('TRANSFER', enrolled)).toEqual({ legal: true });
    const suspended = checkChangeLegal('TRANSFER', { ...enrolled, status: 'SUSPENDED' });
    expect(suspended).toMatchObject({ legal: false });
    expect(!suspended.legal && suspended.reason).toMatch(/休学/);
    const flagged = checkChangeLegal('TRANSFER', { ...enrolled, problemFlag: true });
    expect(!flagged.legal && flagged.reason).toMatch(/问题学籍/);
  });

  test('resumption only from suspension; nothing after death', () => {
    expect(checkChangeLegal('RESUME', enrolled).legal).toBe(false);
    expect(checkChangeLegal('RESUME', { ...enrolled, status: 'SUSPENDED' }).legal).toBe(true);
    expect(checkChangeLegal('SUSPEND', { ...enrolled, status: 'DECEASED' }).legal).toBe(false);
    expect(statusAfter('SUSPEND', 'ENROLLED')).toBe('SUSPENDED');
    expect(statusAfter('TRANSFER', 'ENROLLED')).toBe('ENROLLED');
  });
});

describe('change type specifications', () => {
  const record = { schoolCode: '5203020001', status: 'ENROLLED' as const, grade: 4 };
  const lineOf = (type: ChangeType, toSchoolCode: string | null = null) => {
    const after = recordAfter(type, record, { toSchoolCode });
    return {
      fromSchoolCode: record.schoolCode,
      toSchoolCode: after.schoolCode,
      fromStatus: record.status,
      toStatus: after.status,
      fromGrade: record.grade,
      toGrade: after.grade,
    };
  };

  test('every registered spec is filed under its own code, with a Chinese label', () => {
    for (const [key, spec] of Object.entries(CHANGE_TYPE_SPECS)) {
      expect(spec.code).toBe(key);
      expect(spec.label).toMatch(/^[\u4e00-\u9fff]+$/);
    }
  });

  test('approval changes exactly the fields a spec declares, and a reversal restores exactly those', () => {
    for (const type of CHANGE_TYPES) {
      const spec = specOf(type);
      const after = recordAfter(type, record, { toSchoolCode: '5119220001' });
      const changed = (Object.keys(record) as (keyof typeof record)[]).filter((k) => after[k] !== record[k]);
      for (const k of changed) expect([type, spec.changes.includes(k)]).toEqual([type, true]);
      const back = { ...after, ...reversalPatch(type, lineOf(type, '5119220001')) };
      expect([type, back]).toEqual([type, record]);
    }
  });

  test('only a type that changes the school moves the pupil', () => {
    expect(CHANGE_TYPES.filter(movesPupil)).toEqual(['TRANSFER']);
    expect(reversalPatch('TRANSFER', lineOf('TRANSFER', '5119220001'))).toEqual({ schoolCode: '5203020001' });
    expect(reversalPatch('SKIP_GRADE', lineOf('SKIP_GRADE'))).toEqual({ grade: 4 });
  });
});
