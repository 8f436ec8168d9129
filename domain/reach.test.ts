import { idNumberAsSeen, studentNoAsSeen, textAsSeen, withinReach, type CaseFacts } from './reach';

const NOW = new Date('2026-12-01T08:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
const pupil = { schoolCode: '5203020001', countyCode: '520302' };
const clerk = (orgCode: string) => ({ role: 'SCHOOL_CLERK' as const, orgCode });
const officer = (orgCode: string) => ({ role: 'COUNTY_OFFICER' as const, orgCode });

/** 南江县实验小学 takes 张小明 from 遵义市红花岗区第一小学; stages reached so far as given. */
const transfer = (status: CaseFacts['status'], reached: string[], closedAt: Date | null = null): CaseFacts => ({
  type: 'TRANSFER',
  status,
  applicantOrgCode: '5119220001',
  reachedOrgCodes: reached,
  fromSchoolCode: '5203020001',
  fromCountyCode: '520302',
  closedAt,
});

test('administrators reach everyone; a user without an organisation no one', () => {
  expect(withinReach({ role: 'ADMIN', orgCode: null }, pupil, [], NOW)).toBe(true);
  expect(withinReach({ role: 'SCHOOL_CLERK', orgCode: null }, pupil, [], NOW)).toBe(false);
});

test("the pupil's school and its county bureau; no other school or bureau", () => {
  expect(withinReach(clerk('5203020001'), pupil, [], NOW)).toBe(true);
  expect(withinReach(officer('520302'), pupil, [], NOW)).toBe(true);
  expect(withinReach(clerk('5203020002'), pupil, [], NOW)).toBe(false); // same county, another school
  expect(withinReach(officer('511922'), pupil, [], NOW)).toBe(false);
});

test('the 地市 and 省 bureaus above the county, where the tree has them; not another 地市 or province', () => {
  const placed = { ...pupil, higherCodes: ['5203', '52'] };
  expect(withinReach(officer('5203'), placed, [], NOW)).toBe(true);
  expect(withinReach(officer('52'), placed, [], NOW)).toBe(true);
  expect(withinReach(officer('5119'), placed, [], NOW)).toBe(false);
  expect(withinReach(officer('51'), placed, [], NOW)).toBe(false);
  expect(withinReach(officer('5203'), pupil, [], NOW)).toBe(false); // no bureau above the county in the tree
  // For 30 days after an approved transfer out, the sending side's 地市 and 省 too.
  const moved = { schoolCode: '5119220001', countyCode: '511922', higherCodes: ['5119', '51'] };
  const facts = (closedAt: Date) => [
    {
      ...transfer('APPROVED', ['5119220001', '511922', '5203020001', '520302'], closedAt),
      fromHigherCodes: ['5203', '52'],
    },
  ];
  expect(withinReach(officer('5203'), moved, facts(daysAgo(29)), NOW)).toBe(true);
  expect(withinReach(officer('52'), moved, facts(daysAgo(29)), NOW)).toBe(true);
  expect(withinReach(officer('5203'), moved, facts(daysAgo(31)), NOW)).toBe(false);
  expect(withinReach(officer('5119'), moved, facts(daysAgo(31)), NOW)).toBe(true); // now its pupil
});

test('parties to an open case: the applicant, and organisations once their stage is reached', () => {
  const filed = [transfer('IN_REVIEW', ['5119220001'])];
  expect(withinReach(clerk('5119220001'), pupil, filed, NOW)).toBe(true);
  // The receiving county's stage is not reached yet.
  expect(withinReach(officer('511922'), pupil, filed, NOW)).toBe(false);
  const upward = [transfer('IN_REVIEW', ['5119220001', '511922'])];
  expect(withinReach(officer('511922'), pupil, upward, NOW)).toBe(true);
  // Returned to the applicant: still open.
  expect(withinReach(clerk('5119220001'), pupil, [transfer('RETURNED', ['5119220001', '511922'])], NOW)).toBe(true);
});

test('a withdrawn, rejected or cancelled case gives no reach', () => {
  for (const status of ['WITHDRAWN', 'REJECTED', 'CANCELLED'] as const) {
    const closed = [transfer(status, ['5119220001', '511922'], daysAgo(1))];
    expect(withinReach(clerk('5119220001'), pupil, closed, NOW)).toBe(false);
    expect(withinReach(officer('511922'), pupil, closed, NOW)).toBe(false);
  }
});

test('after an approved transfer: the sending school and its bureau for 30 days, then not', () => {
  const moved = { schoolCode: '5119220001', countyCode: '511922' };
  const recent = [transfer('APPROVED', ['5119220001', '511922', '5203020001', '520302'], daysAgo(29))];
  expect(withinReach(clerk('5203020001'), moved, recent, NOW)).toBe(true);
  expect(withinReach(officer('520302'), moved, recent, NOW)).toBe(true);
  expect(withinReach(clerk('5119220001'), moved, recent, NOW)).toBe(true); // the new school
  const old = [transfer('APPROVED', ['5119220001', '511922', '5203020001', '520302'], daysAgo(31))];
  expect(withinReach(clerk('5203020001'), moved, old, NOW)).toBe(false);
  expect(withinReach(officer('520302'), moved, old, NOW)).toBe(false);
  // An approved change of another type gives the applicant nothing once it is over.
  const suspended = [{ ...transfer('APPROVED', ['5119220001'], daysAgo(1)), type: 'SUSPEND' as const }];
  expect(withinReach(clerk('5203020002'), pupil, suspended, NOW)).toBe(false);
});

test('what is shown: whole or region + last four within reach, the region alone outside', () => {
  const no = 'G520302201505050014';
  expect(studentNoAsSeen(no, true, 'detail')).toBe(no);
  expect(studentNoAsSeen(no, true, 'list')).toBe('G520302********0014');
  expect(studentNoAsSeen(no, false, 'detail')).toBe('G520302************');
  expect(studentNoAsSeen(no, false, 'list')).toBe('G520302************');
  expect(idNumberAsSeen(no.slice(1), true)).toBe('520302********0014');
  expect(idNumberAsSeen(no.slice(1), false)).toBe('520302************');
  expect(idNumberAsSeen(null, false)).toBeNull();
});

test('free text outside reach: ID numbers in it masked to the region, however they were typed', () => {
  const fullWidth = '５２０３０２２０１５０５０５００１４';
  expect(textAsSeen(`学生身份证号 520302201505050014，另 ${fullWidth}`, false)).toBe(
    '学生身份证号 520302************，另 520302************',
  );
  expect(textAsSeen('学生身份证号 520302201505050014', true)).toBe('学生身份证号 520302201505050014');
  expect(textAsSeen(null, false)).toBeNull();
});
