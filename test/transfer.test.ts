import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import request from 'supertest';
import { decideUpdate, withdrawUpdate } from '../workflows/messages';
import { as, decideAs, fileTransfer, LI, startStack, ZHANG, ZHAO, type TestStack, SOON } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const S = {
  hhg1: '5203020001',
  hhg2: '5203020002',
  nj1: '5119220001',
  nj2: '5119220002',
  hhg: '520302',
  nj: '511922',
};

let nextPupil = 0;
/** A generated pupil (not one of the fixed four) at that school, different for every call. */
async function pupilAt(schoolCode: string): Promise<string> {
  const rows = await stack.prisma.student.findMany({
    where: { schoolCode, status: 'ENROLLED', studentNo: { notIn: [ZHANG, LI] } },
    orderBy: { studentNo: 'asc' },
  });
  return rows[nextPupil++ % rows.length].studentNo;
}

const file = (user: string, studentNo: string, extra: Record<string, unknown> = {}) =>
  fileTransfer(stack, user, studentNo, extra);
const decide = (user: string, id: number, stage: string, decision = 'APPROVE', comment?: string) =>
  decideAs(stack, user, id, stage, decision, comment);

/** Files a cross-county transfer into 南江县实验小学 and returns its id. */
async function fileCrossCounty(studentNo?: string): Promise<number> {
  const res = await file('nj.s1', studentNo ?? (await pupilAt(S.hhg2)));
  expect(res.status).toBe(201);
  return res.body.id;
}

describe('a transfer between counties', () => {
  test('goes through all four stages in order, each visible only once reached, and moves the pupil exactly once', async () => {
    const created = await file('nj.s1', ZHANG);
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    expect(created.body).toMatchObject({
      type: 'TRANSFER',
      status: 'IN_REVIEW',
      currentStage: 'RECEIVING_SCHOOL',
      currentOrg: { code: S.nj1, name: '南江县实验小学' },
      fromSchool: { code: S.hhg1 },
      toSchool: { code: S.nj1 },
    });
    expect(created.body.steps.map((s: { stage: string; org: { code: string } }) => [s.stage, s.org.code])).toEqual([
      ['RECEIVING_SCHOOL', S.nj1],
      ['RECEIVING_COUNTY', S.nj],
      ['SENDING_SCHOOL', S.hhg1],
      ['SENDING_COUNTY', S.hhg],
    ]);

    // The sending school cannot see the case before its stage is reached: 404, not 403.
    expect((await as(stack, 'hhg.s1').get(`/api/applications/${id}`)).status).toBe(404);
    expect((await as(stack, 'hhg.s1').get('/api/tasks')).body.items.map((a: { id: number }) => a.id)).not.toContain(id);
    expect((await as(stack, 'nj.s1').get('/api/tasks')).body.items.map((a: { id: number }) => a.id)).toContain(id);

    const chain: [string, string, string | null][] = [
      ['nj.s1', 'RECEIVING_SCHOOL', 'RECEIVING_COUNTY'],
      ['nj.edu', 'RECEIVING_COUNTY', 'SENDING_SCHOOL'],
      ['hhg.s1', 'SENDING_SCHOOL', 'SENDING_COUNTY'],
      ['hhg.edu', 'SENDING_COUNTY', null],
    ];
    for (const [user, stage, next] of chain) {
      const res = await decide(user, id, stage);
      expect(res.status).toBe(200);
      expect(res.body.currentStage).toBe(next);
      if (next === 'SENDING_SCHOOL') {
        expect((await as(stack, 'hhg.s1').get(`/api/applications/${id}`)).status).toBe(200);
        expect((await as(stack, 'hhg.s1').get('/api/tasks')).body.items.map((a: { id: number }) => a.id)).toContain(id);
      }
    }

    const done = await as(stack, 'nj.s1').get(`/api/applications/${id}`);
    expect(done.body.status).toBe('APPROVED');
    expect(done.body.currentOrg).toBeNull();
    expect(done.body.steps.map((s: { decision: string }) => s.decision)).toEqual([
      'APPROVE',
      'APPROVE',
      'APPROVE',
      'APPROVE',
    ]);
    expect(done.body.steps.map((s: { actor: string }) => s.actor)).toEqual([
      '南江实验小学学籍管理员',
      '南江县教育局学籍科',
      '红花岗一小学籍管理员',
      '红花岗区教育局学籍科',
    ]);
    const decidedAt = done.body.steps.map((s: { decidedAt: string }) => s.decidedAt);
    expect([...decidedAt].sort()).toEqual(decidedAt);

    const pupil = await as(stack, 'nj.s1').get(`/api/students/${ZHANG}`);
    expect(pupil.status).toBe(200);
    expect(pupil.body.schoolCode).toBe(S.nj1);
    expect(pupil.body.status).toBe('ENROLLED');
    expect(pupil.body.history).toHaveLength(1);
    expect(pupil.body.history[0]).toMatchObject({
      type: 'TRANSFER',
      applicationId: id,
      effectiveDate: SOON,
      fromSchool: { code: S.hhg1 },
      toSchool: { code: S.nj1 },
      approvedBy: ['南江县实验小学', '南江县教育局', '遵义市红花岗区第一小学', '红花岗区教育局'],
    });
    expect(await stack.prisma.studentHistory.count({ where: { studentNo: ZHANG } })).toBe(1);
    const result = await stack.temporal.workflow.getHandle(`application-${id}`).result();
    expect(result).toEqual({ applicationId: id, status: 'APPROVED' });
    expect((await decide('hhg.edu', id, 'SENDING_COUNTY')).status).toBe(409);
  });
});

describe('a transfer within one county', () => {
  test('has three stages: the bureau acts once, as the receiving county', async () => {
    const created = await file('hhg.s2', LI);
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body.steps.map((s: { stage: string; org: { code: string } }) => [s.stage, s.org.code])).toEqual([
      ['RECEIVING_SCHOOL', S.hhg2],
      ['RECEIVING_COUNTY', S.hhg],
      ['SENDING_SCHOOL', S.hhg1],
    ]);
    expect((await decide('hhg.s2', id, 'RECEIVING_SCHOOL')).body.currentStage).toBe('RECEIVING_COUNTY');
    expect((await decide('hhg.edu', id, 'RECEIVING_COUNTY')).body.currentStage).toBe('SENDING_SCHOOL');
    const last = await decide('hhg.s1', id, 'SENDING_SCHOOL');
    expect(last.status).toBe(200);
    expect(last.body.status).toBe('APPROVED');
    expect((await decide('hhg.edu', id, 'SENDING_COUNTY')).status).toBe(409);
    const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: LI } });
    expect(pupil.schoolCode).toBe(S.hhg2);
  });
});

describe('decisions', () => {
  test('a reviewer rejects with a reason: the case ends REJECTED and the pupil stays where he was', async () => {
    const studentNo = await pupilAt(S.hhg2);
    const id = await fileCrossCounty(studentNo);
    await decide('nj.s1', id, 'RECEIVING_SCHOOL');
    const noReason = await decide('nj.edu', id, 'RECEIVING_COUNTY', 'REJECT');
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors).toEqual([expect.objectContaining({ path: 'comment' })]);

    const rejected = await decide('nj.edu', id, 'RECEIVING_COUNTY', 'REJECT', '学位已满');
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('REJECTED');
    expect(rejected.body.steps[1]).toMatchObject({ decision: 'REJECT', comment: '学位已满' });
    expect(rejected.body.steps[2].decision).toBeNull();
    const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo } });
    expect(pupil.schoolCode).toBe(S.hhg2);
    expect(await stack.prisma.studentHistory.count({ where: { studentNo } })).toBe(0);
    // A closed case takes no decisions, and the pupil may be filed for again.
    expect((await decide('nj.edu', id, 'RECEIVING_COUNTY', 'APPROVE')).status).toBe(409);
    // The sending school was never reached: for it the case does not exist.
    expect((await decide('hhg.s2', id, 'SENDING_SCHOOL')).status).toBe(404);
    expect((await file('nj.s2', studentNo)).status).toBe(201);
  });

  test('the receiving school withdraws before the end; a closed case cannot be withdrawn or decided', async () => {
    const id = await fileCrossCounty();
    await decide('nj.s1', id, 'RECEIVING_SCHOOL');
    expect(
      (await as(stack, 'nj.edu').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' })).status,
    ).toBe(403);
    const missing = await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, {});
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].path).toBe('reason');

    const withdrawn = await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ status: 'WITHDRAWN', currentStage: null, closeReason: '家长改变主意' });
    expect((await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, { reason: '再撤一次' })).status).toBe(
      409,
    );
    expect((await decide('nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(409);
    const result = await stack.temporal.workflow.getHandle(`application-${id}`).result();
    expect(result.status).toBe('WITHDRAWN');
  });

  test('only the organisation holding the current stage may act (403), and nothing changes', async () => {
    const id = await fileCrossCounty();
    // The county can read its schools' cases but cannot act for the school.
    const countyForSchool = await decide('nj.edu', id, 'RECEIVING_SCHOOL');
    expect(countyForSchool.status).toBe(403);
    expect(countyForSchool.headers['content-type']).toMatch(/application\/problem\+json/);
    await decide('nj.s1', id, 'RECEIVING_SCHOOL');
    expect((await decide('nj.s1', id, 'RECEIVING_COUNTY')).status).toBe(403);
    // A school that is no party to the case does not even learn that it exists.
    expect((await decide('nj.s2', id, 'RECEIVING_COUNTY')).status).toBe(404);
    const after = await as(stack, 'nj.s1').get(`/api/applications/${id}`);
    expect(after.body.currentStage).toBe('RECEIVING_COUNTY');
    expect(after.body.steps[1].decision).toBeNull();
  });

  test('a stale or future stage is refused with 409', async () => {
    const id = await fileCrossCounty();
    await decide('nj.s1', id, 'RECEIVING_SCHOOL');
    expect((await decide('nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(409); // stale (a double click)
    expect((await decide('nj.edu', id, 'SENDING_COUNTY')).status).toBe(409); // not reached
    const after = await as(stack, 'nj.edu').get(`/api/applications/${id}`);
    expect(after.body.currentStage).toBe('RECEIVING_COUNTY');
  });

  test('the workflow validator itself refuses a wrong organisation, a stale stage and a closed case', async () => {
    const id = await fileCrossCounty();
    const handle = stack.temporal.workflow.getHandle(`application-${id}`);
    const actor = (username: string, orgCode: string) => ({
      userId: 1,
      username,
      displayName: username,
      role: 'SCHOOL_CLERK' as const,
      orgCode,
    });
    const failure = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (err as WorkflowUpdateFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      return (cause as ApplicationFailure).type;
    };
    const wrongOrg = handle.executeUpdate(decideUpdate, {
      args: [{ stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', comment: null, actor: actor('x', S.nj2) }],
    });
    expect(await failure(wrongOrg)).toBe('WrongOrganisation');
    const future = handle.executeUpdate(decideUpdate, {
      args: [{ stage: 'RECEIVING_COUNTY', decision: 'APPROVE', comment: null, actor: actor('x', S.nj) }],
    });
    expect(await failure(future)).toBe('StaleStage');
    const noComment = handle.executeUpdate(decideUpdate, {
      args: [{ stage: 'RECEIVING_SCHOOL', decision: 'REJECT', comment: '  ', actor: actor('x', S.nj1) }],
    });
    expect(await failure(noComment)).toBe('CommentRequired');
    await handle.executeUpdate(withdrawUpdate, { args: [{ reason: '测试', actor: actor('x', S.nj1) }] });
    const closed = handle
      .executeUpdate(decideUpdate, {
        args: [{ stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', comment: null, actor: actor('x', S.nj1) }],
      })
      .catch((e: unknown) => e);
    // Either the validator refuses (CaseClosed) or the run has already completed: never accepted.
    const err = await closed;
    expect(err).toBeInstanceOf(Error);
    const row = await stack.prisma.application.findUniqueOrThrow({ where: { id }, include: { steps: true } });
    expect(row.status).toBe('WITHDRAWN');
    expect(row.steps.every((s) => s.decision === null)).toBe(true);
  });
});

describe('filing', () => {
  test('a second open application for the same pupil is refused with 409, even when filed concurrently', async () => {
    const studentNo = await pupilAt(S.hhg2);
    const results = await Promise.all([
      file('nj.s1', studentNo),
      file('nj.s2', studentNo),
      file('hhg.s1', studentNo),
      file('nj.s1', studentNo),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409]);
    expect(await stack.prisma.application.count({ where: { studentNo } })).toBe(1);
    const conflictBody = results.find((r) => r.status === 409)!.body;
    expect(conflictBody).toMatchObject({ status: 409, type: '/problems/conflict' });
    expect(conflictBody.detail).toMatch(/在办业务/);
  });

  test('an unknown pupil is 404; a pupil who is not in school is 422 with the reason', async () => {
    const unknown = await file('nj.s1', 'G11010519491231002X'); // valid check character, nobody in the register
    expect(unknown.status).toBe(404);
    const suspended = await file('nj.s1', ZHAO);
    expect(suspended.status).toBe(422);
    expect(suspended.body.detail).toMatch(/休学/);
    const ownSchool = await file('hhg.s2', ZHAO.replace('G', 'G')); // 赵磊 is already at 红花岗区第二小学
    expect(ownSchool.status).toBe(422);
  });

  test('malformed and incomplete bodies get 400 naming each field, and nothing is written', async () => {
    const before = await stack.prisma.application.count();
    const token = await stack.login('nj.s1');
    const malformed = await request(stack.app)
      .post('/api/applications')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send('{"type": "TRANSFER",');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(malformed.body.title).toMatch(/^请求参数有误/);

    const empty = await as(stack, 'nj.s1').post('/api/applications', {});
    expect(empty.status).toBe(400);
    expect(empty.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'effectiveDate',
      'reason',
      'studentNo',
      'type',
    ]);

    const bad = await as(stack, 'nj.s1').post('/api/applications', {
      type: 'MOVE',
      studentNo: 'G520302201505050015',
      reason: 'x'.repeat(501),
      effectiveDate: '2026-02-30',
    });
    expect(bad.status).toBe(400);
    const paths = Object.fromEntries(
      bad.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]),
    );
    expect(Object.keys(paths).sort()).toEqual(['effectiveDate', 'reason', 'studentNo', 'type']);
    expect(paths.studentNo).toMatch(/学籍号/);
    expect(paths.effectiveDate).toMatch(/日期/);

    const badDecision = await as(stack, 'nj.s1').post('/api/applications/1/decisions', {
      stage: 'NOPE',
      decision: 'MAYBE',
    });
    expect(badDecision.status).toBe(400);
    expect(badDecision.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['decision', 'stage']);
    expect((await as(stack, 'nj.s1').get('/api/applications/abc')).status).toBe(400);
    expect(await stack.prisma.application.count()).toBe(before);
  });

  test('only a school clerk files; requests without a valid token are 401', async () => {
    expect(
      (
        await as(stack, 'nj.edu').post('/api/applications', {
          type: 'TRANSFER',
          studentNo: ZHAO,
          reason: 'x',
          effectiveDate: '2026-12-01',
        })
      ).status,
    ).toBe(403);
    expect((await request(stack.app).get('/api/tasks')).status).toBe(401);
    expect((await request(stack.app).get('/api/tasks').set('Authorization', 'Bearer not-a-token')).status).toBe(401);
    const badLogin = await request(stack.app).post('/api/auth/login').send({ username: 'nj.s1', password: 'wrong' });
    expect(badLogin.status).toBe(401);
    expect(badLogin.body.detail).toMatch(/^用户名或密码不正确。/);
  });
});

describe('lists and lookups', () => {
  test('pupil lookup is by exact name at one school and masks ID numbers (to the region outside reach)', async () => {
    const res = await as(stack, 'nj.s1').get(`/api/students?schoolCode=${S.hhg2}&name=${encodeURIComponent('赵磊')}`);
    expect(res.status).toBe(200);
    // Another county's school: no digit past the region, no birth date.
    expect(res.body.items).toEqual([
      expect.objectContaining({
        studentNo: 'G520302************',
        name: '赵磊',
        birthDate: null,
        schoolName: '遵义市红花岗区第二小学',
        status: 'SUSPENDED',
        idNumberMasked: '520302************',
      }),
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/0047|2016-01-01/);
    // The pupil's own school: region and last four, with the birth date, as in every list.
    const own = await as(stack, 'hhg.s2').get(`/api/students?schoolCode=${S.hhg2}&name=${encodeURIComponent('赵磊')}`);
    expect(own.body.items).toEqual([
      expect.objectContaining({
        studentNo: 'G520302********0047',
        birthDate: '2016-01-01',
        idNumberMasked: '520302********0047',
      }),
    ]);
    expect(JSON.stringify(own.body)).not.toContain('520302201601010047');
    const missing = await as(stack, 'nj.s1').get('/api/students?name=x');
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].path).toBe('schoolCode');
  });

  test('application lists are scoped to the caller and page with a cursor', async () => {
    const id = await fileCrossCounty();
    const mine = await as(stack, 'nj.s1').get('/api/applications?limit=2');
    expect(mine.status).toBe(200);
    expect(mine.body.items).toHaveLength(2);
    expect(mine.body.nextCursor).toEqual(expect.any(Number));
    const next = await as(stack, 'nj.s1').get(`/api/applications?limit=2&cursor=${mine.body.nextCursor}`);
    expect(next.body.items[0].id).toBeLessThan(mine.body.items[1].id + 1);
    // 南江县第二小学 is no party to this case.
    expect(JSON.stringify(mine.body)).not.toMatch(/\d{17}[\dX]/);
    const other = await as(stack, 'nj.s2').get('/api/applications?limit=200');
    expect(other.body.items.map((a: { id: number }) => a.id)).not.toContain(id);
    const admin = await as(stack, 'admin').get('/api/applications?status=IN_REVIEW&limit=200');
    expect(admin.body.items.map((a: { id: number }) => a.id)).toContain(id);
    const stuck = await as(stack, 'admin').get('/api/admin/stuck');
    expect(stuck.body.items.find((c: { id: number }) => c.id === id)).toMatchObject({
      holder: { code: S.nj1 },
      currentStage: 'RECEIVING_SCHOOL',
      workflowStarted: true,
    });
    expect((await as(stack, 'nj.s1').get('/api/admin/stuck')).status).toBe(403);
  });

  test('the OpenAPI document and the health check are public', async () => {
    const doc = await request(stack.app).get('/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/auth/login',
        '/api/applications',
        '/api/applications/{id}/decisions',
        '/api/tasks',
      ]),
    );
    expect(doc.body.components.schemas.Application.properties.steps).toBeDefined();
    // Shared components never allow null by themselves: a decision's stage cannot be null; a case's can.
    for (const name of ['Stage', 'Decision', 'OrgRef', 'ChangeType']) {
      expect(JSON.stringify(doc.body.components.schemas[name])).not.toContain('null');
    }
    expect(doc.body.components.schemas.Application.properties.currentStage.anyOf).toEqual([
      { $ref: '#/components/schemas/Stage' },
      { type: 'null' },
    ]);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/admin/stuck',
        '/api/admin/applications/{id}/remind',
        '/api/admin/applications/{id}/extend',
        '/api/admin/calendar/{year}',
      ]),
    );
    expect((await request(stack.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(stack.app).get('/readyz')).body).toEqual({ status: 'ok', db: 'ok', temporal: 'ok' });
  });
});
