import type { Response } from 'supertest';
import { as, decideAs, fileTransfer, startStack, ZHAO, type TestStack } from './support/stack';

let stack: TestStack;
let strict: TestStack;
beforeAll(async () => {
  stack = await startStack();
  // A province that forbids transfers in the graduating grade and caps suspensions at 12 months.
  strict = await startStack({ rules: { noTransferGrades: [6], maxSuspendMonths: 12 } });
});
afterAll(async () => {
  await stack?.close();
  await strict?.close();
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const TODAY = day(0);

let used = 0;
/** A generated pupil of 南江县第二小学 (nj.s2) in the given grade range, different on every call. */
async function pupil(s: TestStack, where: { grade?: number | { gte?: number; lte?: number } } = {}) {
  const rows = await s.prisma.student.findMany({
    where: { schoolCode: '5119220002', status: 'ENROLLED', ...where },
    orderBy: { studentNo: 'asc' },
  });
  return rows[used++ % rows.length];
}

function file(s: TestStack, type: string, studentNo: string, details?: Record<string, unknown>, user = 'nj.s2') {
  return as(s, user).post('/api/applications', { type, studentNo, reason: '家长申请', effectiveDate: TODAY, details });
}

/** Takes a case through SCHOOL then COUNTY of 南江县第二小学. */
async function approveSchoolAndCounty(s: TestStack, id: number): Promise<Response> {
  const first = await decideAs(s, 'nj.s2', id, 'SCHOOL');
  expect(first.status).toBe(200);
  expect(first.body.currentStage).toBe('COUNTY');
  return decideAs(s, 'nj.edu', id, 'COUNTY');
}

describe('every change type through its chain: the pupil’s school, then its county bureau', () => {
  test.each([
    ['SUSPEND', { expectedReturnDate: day(180) }, 'SUSPENDED', 0],
    ['REPEAT_GRADE', undefined, 'ENROLLED', -1],
    ['SKIP_GRADE', undefined, 'ENROLLED', +1],
    ['DROP_OUT', { lastAttendanceDate: day(-3) }, 'DROPPED_OUT', 0],
    ['STUDY_ABROAD', { destination: '新加坡', expectedReturnDate: day(365) }, 'ABROAD', 0],
    ['DECEASED', { deathDate: day(-1) }, 'DECEASED', 0],
  ])('%s moves the record and writes one history line', async (type, details, toStatus, gradeDelta) => {
    const p = await pupil(stack, { grade: { gte: 2, lte: 5 } });
    const created = await file(stack, type, p.studentNo, details);
    expect(created.status).toBe(201);
    expect(created.body.steps.map((st: { stage: string; org: { code: string } }) => [st.stage, st.org.code])).toEqual([
      ['SCHOOL', '5119220002'],
      ['COUNTY', '511922'],
    ]);
    expect(created.body.details).toEqual(details ?? null);
    const done = await approveSchoolAndCounty(stack, created.body.id);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('APPROVED');
    const after = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: p.studentNo } });
    expect(after.status).toBe(toStatus);
    expect(after.grade).toBe(p.grade + gradeDelta);
    expect(after.schoolCode).toBe(p.schoolCode);
    const record = await as(stack, 'nj.s2').get(`/api/students/${p.studentNo}`);
    expect(record.body.history).toEqual([
      expect.objectContaining({
        type,
        applicationId: created.body.id,
        fromStatus: 'ENROLLED',
        toStatus,
        fromGrade: p.grade,
        toGrade: p.grade + gradeDelta,
        approvedBy: ['南江县第二小学', '南江县教育局'],
      }),
    ]);
  });

  test('RESUME only for a suspended pupil: 赵磊 (休学) returns to school', async () => {
    const enrolled = await pupil(stack);
    const refused = await file(stack, 'RESUME', enrolled.studentNo);
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toMatch(/只有"休学"的学生才能办理复学/);
    const created = await file(stack, 'RESUME', ZHAO, undefined, 'hhg.s2');
    expect(created.status).toBe(201);
    await decideAs(stack, 'hhg.s2', created.body.id, 'SCHOOL');
    expect((await decideAs(stack, 'hhg.edu', created.body.id, 'COUNTY')).body.status).toBe('APPROVED');
    expect((await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHAO } })).status).toBe('ENROLLED');
  });

  test('nothing after death; another school cannot file a status change for a pupil not its own', async () => {
    const p = await pupil(stack);
    const died = await file(stack, 'DECEASED', p.studentNo, { deathDate: TODAY });
    await approveSchoolAndCounty(stack, died.body.id);
    for (const type of ['SUSPEND', 'TRANSFER', 'DECEASED']) {
      const res =
        type === 'TRANSFER'
          ? await fileTransfer(stack, 'nj.s1', p.studentNo)
          : await file(
              stack,
              type,
              p.studentNo,
              type === 'SUSPEND' ? { expectedReturnDate: day(30) } : { deathDate: TODAY },
            );
      expect(res.status).toBe(422);
      expect(res.body.detail).toMatch(/已注销/);
    }
    // A pupil outside the school's reach: the same 404 as a number that does not exist (filing is no way to learn
    // whether a 学籍号 exists), counted as a failed match.
    const other = await pupil(stack);
    const refused = await file(stack, 'SUSPEND', other.studentNo, { expectedReturnDate: day(30) }, 'nj.s1');
    expect(refused.status).toBe(404);
    expect(refused.body.detail).not.toContain(other.studentNo.slice(7));
  });
});

describe('type-specific fields', () => {
  test('are required, checked against the dates, and unknown ones are refused — each naming its field', async () => {
    const p = await pupil(stack);
    const cases: [string, Record<string, unknown> | undefined, string][] = [
      ['STUDY_ABROAD', undefined, 'details.destination'],
      ['STUDY_ABROAD', { destination: '' }, 'details.destination'],
      ['SUSPEND', undefined, 'details.expectedReturnDate'],
      ['SUSPEND', { expectedReturnDate: day(-10) }, 'details.expectedReturnDate'],
      ['DECEASED', { deathDate: day(3) }, 'details.deathDate'],
      ['REPEAT_GRADE', { destination: 'x' }, 'details.destination'],
    ];
    for (const [type, details, path] of cases) {
      const res = await file(stack, type, p.studentNo, details);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const far = await as(stack, 'nj.s2').post('/api/applications', {
      type: 'SKIP_GRADE',
      studentNo: p.studentNo,
      reason: 'x',
      effectiveDate: day(400),
    });
    expect(far.status).toBe(400);
    expect(far.body.errors[0]).toMatchObject({ path: 'effectiveDate', message: '异动日期应在今天前后一年之内' });
    expect(await stack.prisma.application.count({ where: { studentNo: p.studentNo } })).toBe(0);
  });
});

describe('province rules are settings', () => {
  test('a province that forbids transfers in the graduating grade refuses them; the default does not', async () => {
    const sixth = await pupil(strict, { grade: 6 });
    const refused = await fileTransfer(strict, 'hhg.s1', sixth.studentNo);
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toMatch(/毕业年级/);
    const fifth = await pupil(strict, { grade: 5 });
    expect((await fileTransfer(strict, 'hhg.s1', fifth.studentNo)).status).toBe(201);
    const sixthHere = await pupil(stack, { grade: 6 });
    expect((await fileTransfer(stack, 'hhg.s1', sixthHere.studentNo)).status).toBe(201);
  });

  test('the longest suspension is a setting', async () => {
    const p = await pupil(strict);
    const tooLong = await file(strict, 'SUSPEND', p.studentNo, { expectedReturnDate: day(400) });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.detail).toMatch(/休学最长 12 个月/);
    expect((await file(strict, 'SUSPEND', p.studentNo, { expectedReturnDate: day(300) })).status).toBe(201);
  });
});

describe('return and resubmit', () => {
  test('RETURN sends the case back to the applicant, who corrects it; the chain starts again and earlier rounds are kept', async () => {
    const p = await pupil(stack);
    const created = await file(stack, 'STUDY_ABROAD', p.studentNo, { destination: '新家坡' });
    const id = created.body.id;
    await decideAs(stack, 'nj.s2', id, 'SCHOOL');
    expect((await decideAs(stack, 'nj.edu', id, 'COUNTY', 'RETURN')).status).toBe(400); // a reason is required
    const returned = await decideAs(stack, 'nj.edu', id, 'COUNTY', 'RETURN', '国家名称有误，请更正');
    expect(returned.status).toBe(200);
    expect(returned.body).toMatchObject({ status: 'RETURNED', currentStage: null, currentOrg: { code: '5119220002' } });

    // Returned: in the applicant's 待办, not the bureau's; no decisions until resubmitted.
    const tasks = (u: string) => as(stack, u).get('/api/tasks');
    expect((await tasks('nj.s2')).body.items.map((a: { id: number }) => a.id)).toContain(id);
    expect((await tasks('nj.edu')).body.items.map((a: { id: number }) => a.id)).not.toContain(id);
    expect((await decideAs(stack, 'nj.edu', id, 'COUNTY')).status).toBe(409);
    expect((await as(stack, 'nj.edu').post(`/api/applications/${id}/resubmit`, {})).status).toBe(403);
    const badFix = await as(stack, 'nj.s2').post(`/api/applications/${id}/resubmit`, { details: { destination: '' } });
    expect(badFix.status).toBe(400);
    expect(badFix.body.errors[0].path).toBe('details.destination');

    const resubmitted = await as(stack, 'nj.s2').post(`/api/applications/${id}/resubmit`, {
      details: { destination: '新加坡' },
      reason: '家长申请（已更正国家名称）',
    });
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body).toMatchObject({
      status: 'IN_REVIEW',
      round: 2,
      currentStage: 'SCHOOL',
      details: { destination: '新加坡' },
      reason: '家长申请（已更正国家名称）',
    });
    expect(resubmitted.body.steps.map((st: { decision: string | null }) => st.decision)).toEqual([null, null]);
    expect(resubmitted.body.earlierRounds).toEqual([
      {
        round: 1,
        steps: [
          expect.objectContaining({ stage: 'SCHOOL', decision: 'APPROVE' }),
          expect.objectContaining({ stage: 'COUNTY', decision: 'RETURN', comment: '国家名称有误，请更正' }),
        ],
      },
    ]);
    expect((await as(stack, 'nj.s2').post(`/api/applications/${id}/resubmit`, {})).status).toBe(409);

    const done = await approveSchoolAndCounty(stack, id);
    expect(done.body.status).toBe('APPROVED');
    expect((await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: p.studentNo } })).status).toBe('ABROAD');
    expect(await stack.prisma.studentHistory.count({ where: { studentNo: p.studentNo } })).toBe(1);
  });

  test('a returned case can be withdrawn by the applicant', async () => {
    const p = await pupil(stack);
    const id = (await file(stack, 'SKIP_GRADE', p.studentNo)).body.id;
    await decideAs(stack, 'nj.s2', id, 'SCHOOL', 'RETURN', '缺少家长申请书');
    const withdrawn = await as(stack, 'nj.s2').post(`/api/applications/${id}/withdraw`, { reason: '家长不再申请' });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('WITHDRAWN');
  });
});

describe('cancel by an administrator', () => {
  test('needs the admin role and a reason; ends the case CANCELLED and frees the pupil', async () => {
    const p = await pupil(stack);
    const id = (await fileTransfer(stack, 'hhg.s1', p.studentNo)).body.id;
    expect((await as(stack, 'hhg.s1').post(`/api/applications/${id}/cancel`, { reason: '重复申请' })).status).toBe(403);
    const noReason = await as(stack, 'admin').post(`/api/applications/${id}/cancel`, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].path).toBe('reason');
    const cancelled = await as(stack, 'admin').post(`/api/applications/${id}/cancel`, { reason: '重复申请' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', closeReason: '重复申请' });
    expect((await as(stack, 'admin').post(`/api/applications/${id}/cancel`, { reason: '再取消' })).status).toBe(409);
    expect((await stack.temporal.workflow.getHandle(`application-${id}`).result()).status).toBe('CANCELLED');
    expect((await fileTransfer(stack, 'hhg.s1', p.studentNo)).status).toBe(201);
  });
});

describe('one open case per pupil', () => {
  test('concurrent filings of different types for one pupil: exactly one succeeds', async () => {
    const p = await pupil(stack);
    const results = await Promise.all([
      file(stack, 'SUSPEND', p.studentNo, { expectedReturnDate: day(60) }),
      file(stack, 'SKIP_GRADE', p.studentNo),
      file(stack, 'STUDY_ABROAD', p.studentNo, { destination: '日本' }),
      fileTransfer(stack, 'nj.s1', p.studentNo),
      fileTransfer(stack, 'hhg.s1', p.studentNo),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(await stack.prisma.application.count({ where: { studentNo: p.studentNo } })).toBe(1);
  });

  test('while a case completes, concurrent new filings never leave two open cases', async () => {
    const p = await pupil(stack);
    const id = (await file(stack, 'SKIP_GRADE', p.studentNo)).body.id;
    await decideAs(stack, 'nj.s2', id, 'SCHOOL');
    const [last, ...filings] = await Promise.all([
      decideAs(stack, 'nj.edu', id, 'COUNTY'),
      file(stack, 'REPEAT_GRADE', p.studentNo),
      file(stack, 'REPEAT_GRADE', p.studentNo),
      fileTransfer(stack, 'hhg.s1', p.studentNo),
    ]);
    expect(last.status).toBe(200);
    const open = await stack.prisma.application.count({
      where: { studentNo: p.studentNo, status: { in: ['IN_REVIEW', 'RETURNED'] } },
    });
    expect(open).toBeLessThanOrEqual(1);
    expect(filings.filter((f) => f.status === 201).length).toBe(open);
  });
});
