import request from 'supertest';
import { idCheckChar, parseIdNumber } from '../domain/id-number';
import { demoPupils, gradeFor } from '../infra/demo-data';
import { MATCH_FAILURES_PER_HOUR } from '../api/services/reach';
import { as, SOON, startStack, ZHANG, type TestStack } from './support/stack';

// How hard is it to rebuild a pupil's ID number from what a caller outside reach sees (region, grade, gender), and
// does the limit on failed matches stop someone who tries?

/** The school year's cohort of a grade, as the demo data assigns grades: born 1 Sept (2020−g) … 31 Aug (2021−g). */
function cohort(grade: number): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(2020 - grade, 8, 1); t <= Date.UTC(2021 - grade, 7, 31); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** A candidate ID number: region, birth date, sequence, and the check character that makes it valid. */
const idOf = (region: string, day: string, seq: number) => {
  const first17 = `${region}${day.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return first17 + idCheckChar(first17);
};
const fitsGender = (seq: number, gender: 'MALE' | 'FEMALE') => (seq % 2 === 1) === (gender === 'MALE');

/**
 * How many valid GB 11643 numbers have this region, a birth date plausible for the grade and the gender's parity
 * (17th digit odd for boys). Each day of the cohort is checked with parseIdNumber (region and a real, past date);
 * on a valid day every sequence of the right parity, with its computed check character, is a valid number — 500.
 */
function candidateCount(region: string, grade: number, gender: 'MALE' | 'FEMALE'): number {
  let n = 0;
  for (const day of cohort(grade)) {
    const seqs = Array.from({ length: 1000 }, (_, i) => i).filter((i) => fitsGender(i, gender));
    // The first and last of the day stand for all of them: format, region and date are the same.
    if (!parseIdNumber(idOf(region, day, seqs[0]), '2026-12-01').ok) continue;
    if (!parseIdNumber(idOf(region, day, seqs[seqs.length - 1]), '2026-12-01').ok) continue;
    n += seqs.length;
  }
  return n;
}

test('for every demo pupil, the ID numbers left to a caller who knows county, grade and gender: at least 182,500', () => {
  const pupils = demoPupils(300);
  const counts = new Map<string, number>();
  let least = Infinity;
  let containing = 0;
  for (const p of pupils) {
    const region = p.idNumber.slice(0, 6);
    const key = `${region}:${p.grade}:${p.gender}`;
    if (!counts.has(key)) counts.set(key, candidateCount(region, p.grade, p.gender));
    least = Math.min(least, counts.get(key)!);
    // The true number is among them when the pupil was born in the grade's cohort.
    if (cohort(p.grade).includes(p.birthDate) && fitsGender(Number(p.idNumber.slice(14, 17)), p.gender))
      containing += 1;
  }
  const hours = least / MATCH_FAILURES_PER_HOUR;
  console.log(
    `[guessing] ${pupils.length} demo pupils in ${counts.size} (county, grade, gender) groups: at least ${least.toLocaleString('en')} ` +
      `candidate ID numbers each (${containing} of ${pupils.length} true numbers among their group's candidates; the others were ` +
      `born outside their grade's cohort, which only widens the search); at ${MATCH_FAILURES_PER_HOUR} failed matches an hour ` +
      `that is ${hours.toLocaleString('en')} hours (${(hours / 24 / 365).toFixed(1)} years) to try them all, half that on average`,
  );
  expect(least).toBeGreaterThanOrEqual(182_500); // 365 days × 500 sequences of the right parity
  expect(containing).toBeGreaterThan(pupils.length * 0.99);
  expect(gradeFor('2015-05-05')).toBe(6); // 张小明: the cohort rule above is the demo data's own
});

describe('the limit on failed matches', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, updateTimeoutMs: 200 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Wrong guesses a caller outside reach would try: other valid numbers of 张小明's group. */
  const wrong = cohort(6)
    .slice(0, 40)
    .map((day) => idOf('520302', day, 1))
    .filter((id) => `G${id}` !== ZHANG);
  const match = (app: TestStack['app'], token: string, idNumber: string) =>
    request(app)
      .post('/api/students/match')
      .set('Authorization', `Bearer ${token}`)
      .send({ schoolCode: '5203020001', name: '张小明', studentNo: `G${idNumber}` });

  test('10 failed matches an hour, counted in Postgres by every API process; the 11th is refused even when right, filing too; each failure audited, masked', async () => {
    const token = await stack.login('nj.s1');
    const other = stack.appWith({}); // a second API process on the same database
    const user = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.s1' } });
    for (let i = 0; i < MATCH_FAILURES_PER_HOUR; i++) {
      const res = await match(i % 2 ? other : stack.app, token, wrong[i]);
      expect([i, res.status, res.body.errors]).toEqual([
        i,
        404,
        [{ path: 'studentNo', message: '学籍号与所选学生不符' }],
      ]);
    }
    const right = await match(stack.app, token, ZHANG.slice(1));
    expect(right.status).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(3000);
    expect(right.headers['content-type']).toMatch(/application\/problem\+json/);
    const filing = await as(stack, 'nj.s1').post('/api/applications', {
      type: 'TRANSFER',
      studentNo: ZHANG,
      reason: '随父母工作调动',
      effectiveDate: SOON,
    });
    expect(filing.status).toBe(429);
    expect(await stack.prisma.application.count({ where: { studentNo: ZHANG } })).toBe(0);

    const audit = await stack.prisma.auditEvent.findMany({
      where: { action: 'student.match_failed', actorId: user.id },
      orderBy: { seq: 'asc' },
    });
    expect(audit).toHaveLength(MATCH_FAILURES_PER_HOUR);
    expect(audit[0].details).toMatchObject({
      via: 'match',
      studentNo: 'G520302************',
      schoolCode: '5203020001',
    });
    const stored = JSON.stringify(audit.map((e) => ({ ...e, seq: String(e.seq) })));
    for (const guess of wrong.slice(0, MATCH_FAILURES_PER_HOUR)) expect(stored).not.toContain(guess.slice(6));

    // An hour later the user may try again, and the right number matches.
    await stack.prisma.matchFailure.updateMany({
      where: { userId: user.id },
      data: { at: new Date(Date.now() - 61 * 60_000) },
    });
    const later = await match(stack.app, token, ZHANG.slice(1));
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({
      studentNo: ZHANG,
      name: '张小明',
      birthDate: '2015-05-05',
      schoolCode: '5203020001',
    });
  });

  test('concurrent guesses are counted one after another: of 15 at once, exactly 10 are answered and 5 refused', async () => {
    const token = await stack.login('nj.edu');
    const answers = await Promise.all(
      wrong.slice(20, 35).map((id, i) => match(i % 2 ? stack.appWith({}) : stack.app, token, id)),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(10).fill(404), ...Array(5).fill(429)]);
  });

  test('filing with a number of a pupil outside reach for a non-transfer change, or one that does not exist, is a failed match too', async () => {
    const token = await stack.login('nj.s2');
    const user = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.s2' } });
    const file = (studentNo: string) =>
      request(stack.app)
        .post('/api/applications')
        .set('Authorization', `Bearer ${token}`)
        .send({
          type: 'SUSPEND',
          studentNo,
          reason: '因病休学',
          effectiveDate: SOON,
          details: { expectedReturnDate: '2027-09-01' },
        });
    const exists = await file(ZHANG);
    const missing = await file(`G${wrong[39]}`);
    expect([exists.status, missing.status]).toEqual([404, 404]);
    expect(exists.body.detail.replace(/G\d{6}\*+/, '')).toBe(missing.body.detail.replace(/G\d{6}\*+/, ''));
    expect(await stack.prisma.matchFailure.count({ where: { userId: user.id } })).toBe(2);
  });
});
