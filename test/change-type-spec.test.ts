// Issue 14 item 1: a change type is one specification in domain/change-types/. This file adds one that the code base
// does not have — test/fixtures/readmit.ts, a spec written as a file of that folder would be — to the registry, the
// one line a developer would add, and nothing else: no migration (the type is stored as text), no API, activity or
// workflow change. The case is filed, refused where its own rules say so, approved through its own one-stage chain
// and applied to the record, all over HTTP on the real stack (Postgres, Temporal, worker).
jest.mock('../domain/change-types/registry', () => {
  const actual = jest.requireActual('../domain/change-types/registry');
  const { readmit } = jest.requireActual('./fixtures/readmit');
  return { CHANGE_TYPE_SPECS: { ...actual.CHANGE_TYPE_SPECS, READMIT: readmit } };
});

import { CHANGE_TYPES } from '../domain/change-types';
import request from 'supertest';
import { ensurePoppler, pdfText } from './support/poppler';
import { as, decideAs, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  ensurePoppler();
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const file = (type: string, studentNo: string, details?: Record<string, unknown>) =>
  as(stack, 'nj.s2').post('/api/applications', { type, studentNo, reason: '家长申请', effectiveDate: day(0), details });

test('the registry is the only place the new type was added', () => {
  expect(CHANGE_TYPES).toContain('READMIT');
});

test('a change type defined in domain/ alone is filed, checked, approved through its own chain and applied', async () => {
  // A pupil of 南江县第二小学 drops out (the built-in DROP_OUT, school then county)…
  const p = await stack.prisma.student.findFirstOrThrow({
    where: { schoolCode: '5119220002', status: 'ENROLLED', grade: { gte: 2, lte: 5 } },
    orderBy: { studentNo: 'asc' },
  });
  // An enrolled pupil cannot come back: the spec's `from`.
  const early = await file('READMIT', p.studentNo, { returnDate: day(1) });
  expect(early.status).toBe(422);
  expect(early.body.detail).toBe('该学生当前为"在籍"状态，只有"辍学"的学生才能办理辍学返校');

  const drop = await file('DROP_OUT', p.studentNo);
  expect(drop.status).toBe(201);
  expect((await decideAs(stack, 'nj.s2', drop.body.id, 'SCHOOL')).status).toBe(200);
  const dropped = await decideAs(stack, 'nj.edu', drop.body.id, 'COUNTY');
  expect(dropped.body.status).toBe('APPROVED');

  // … and comes back. The type's own fields and checks, built from its spec.
  const missing = await file('READMIT', p.studentNo);
  expect(missing.status).toBe(400);
  expect(missing.body.errors).toEqual([{ path: 'details.returnDate', message: '请填写返校日期' }]);
  const early2 = await file('READMIT', p.studentNo, { returnDate: day(-1) });
  expect(early2.status).toBe(400);
  expect(early2.body.errors).toEqual([{ path: 'details.returnDate', message: '返校日期不能早于异动日期' }]);
  const extra = await file('READMIT', p.studentNo, { returnDate: day(1), destination: '新加坡' });
  expect(extra.status).toBe(400);
  expect(extra.body.errors).toEqual([{ path: 'details.destination', message: '该异动类型不需要此项' }]);

  const created = await file('READMIT', p.studentNo, { returnDate: day(1), className: '三（2）班' });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ type: 'READMIT', status: 'IN_REVIEW', currentStage: 'COUNTY' });
  // Its chain: the county bureau alone.
  expect(created.body.steps.map((s: { stage: string; org: { code: string } }) => [s.stage, s.org.code])).toEqual([
    ['COUNTY', '511922'],
  ]);
  expect(await as(stack, 'nj.s2').get(`/api/applications?type=READMIT`)).toMatchObject({
    status: 200,
    body: { items: [expect.objectContaining({ id: created.body.id })] },
  });
  // It is in the bureau's 待办 (a first stage that is not the applicant's), and a lookup of the pupil names it by the
  // spec's label.
  const tasks = await as(stack, 'nj.edu').get('/api/tasks');
  expect(tasks.body.items.map((a: { id: number }) => a.id)).toContain(created.body.id);
  const lookup = await as(stack, 'nj.s2').get(`/api/students?schoolCode=5119220002&name=${encodeURIComponent(p.name)}`);
  expect(lookup.status).toBe(200);
  expect(lookup.body.items.find((x: { name: string }) => x.name === p.name)?.openCase).toMatchObject({
    type: 'READMIT',
    label: '在办（辍学返校，审核中）',
  });

  const done = await decideAs(stack, 'nj.edu', created.body.id, 'COUNTY');
  expect(done.status).toBe(200);
  expect(done.body).toMatchObject({ status: 'APPROVED', currentStage: null });

  // The record as the spec's `apply` says, and one history line of the new type.
  const after = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: p.studentNo } });
  expect(after).toMatchObject({ status: 'ENROLLED', grade: p.grade, schoolCode: p.schoolCode });
  const record = await as(stack, 'nj.s2').get(`/api/students/${p.studentNo}`);
  expect(record.status).toBe(200);
  expect(record.body.history.at(-1)).toEqual(
    expect.objectContaining({
      type: 'READMIT',
      applicationId: created.body.id,
      fromStatus: 'DROPPED_OUT',
      toStatus: 'ENROLLED',
      approvedBy: ['南江县教育局'],
    }),
  );

  // The 审批表 names the type and its fields by the spec's labels.
  const form = await request(stack.app)
    .get(`/api/applications/${created.body.id}/form.pdf`)
    .set('Authorization', `Bearer ${await stack.login('nj.s2')}`)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  expect(form.status).toBe(200);
  const text = pdfText(form.body as Buffer);
  expect(text).toMatch(/异动类型\s+辍学返校/);
  expect(text).toMatch(/编入班级\s+三（2）班/);
  // No 转学联系函: the type does not move the pupil.
  expect((await as(stack, 'nj.s2').get(`/api/applications/${created.body.id}/letter.pdf`)).status).toBe(409);
});
