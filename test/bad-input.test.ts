import request from 'supertest';
import { startStack, type TestStack } from './support/stack';

// Nothing a user can type may produce a 500: every odd input gets a 4xx problem+json in Chinese first.
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const weird: unknown[] = [
  null,
  [],
  [1, 2],
  'text',
  42,
  true,
  {},
  { type: null, studentNo: 123, reason: ['a'], effectiveDate: 20261201 },
  { type: 'TRANSFER', studentNo: 'G' + '9'.repeat(500), reason: 'x', effectiveDate: '9999-99-99' },
  { type: 'TRANSFER', studentNo: 'G520302201505050014', reason: '\u0000\u202e', effectiveDate: '2026-13-01' },
  { type: { $ne: 1 }, __proto__: { admin: true }, constructor: { prototype: {} } },
  { stage: 'SCHOOL', decision: 'APPROVE', comment: 'x'.repeat(10_000) },
  { stage: 1, decision: null },
  { reason: '' },
  {
    details: 'not an object',
    type: 'SUSPEND',
    studentNo: 'G520302201505050014',
    reason: 'x',
    effectiveDate: '2026-12-01',
  },
  { username: { $gt: '' }, password: ['x'] },
];

const paths = ['1', '0', '-1', 'abc', '1e99', '99999999999999999999', '%00', '..%2F..%2Fetc%2Fpasswd', '1;drop table'];

test('odd bodies, params and queries never produce a 5xx', async () => {
  const token = await stack.login('nj.s1');
  const admin = await stack.login('admin');
  const seen: string[] = [];
  const check = async (res: request.Response, what: string) => {
    seen.push(`${res.status} ${what}`);
    if (res.status >= 500) throw new Error(`${what} → ${res.status} ${JSON.stringify(res.body)}`);
    if (res.status >= 400) {
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.title).toMatch(/[\u4e00-\u9fff]/);
    }
  };
  for (const body of weird) {
    for (const [url, t] of [
      ['/api/auth/login', null],
      ['/api/applications', token],
      ['/api/applications/1/decisions', token],
      ['/api/applications/1/withdraw', token],
      ['/api/applications/1/resubmit', token],
      ['/api/applications/1/cancel', admin],
      ['/api/admin/applications/1/extend', admin],
      ['/api/admin/applications/1/remind', admin],
    ] as const) {
      let req = request(stack.app).post(url).set('Content-Type', 'application/json');
      if (t) req = req.set('Authorization', `Bearer ${t}`);
      await check(await req.send(JSON.stringify(body)), `POST ${url} ${JSON.stringify(body)?.slice(0, 60)}`);
    }
  }
  for (const body of weird) {
    for (const year of ['2027', 'abc', '99999', '-1', '2027.5']) {
      const res = await request(stack.app)
        .put(`/api/admin/calendar/${year}`)
        .set('Authorization', `Bearer ${admin}`)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body));
      await check(res, `PUT calendar/${year} ${JSON.stringify(body)?.slice(0, 60)}`);
      expect(res.status).toBe(400);
    }
  }
  expect(await stack.prisma.calendarYear.count()).toBe(0);
  for (const q of ['kind=x', 'limit=0', 'limit=abc', 'overdueOnly=maybe', 'kind[]=a']) {
    await check(
      await request(stack.app).get(`/api/admin/stuck?${q}`).set('Authorization', `Bearer ${admin}`),
      `stuck?${q}`,
    );
  }
  for (const p of paths) {
    for (const url of [`/api/applications/${p}`, `/api/students/${p}`, `/api/applications/${p}/attachments`]) {
      await check(await request(stack.app).get(url).set('Authorization', `Bearer ${token}`), `GET ${url}`);
    }
  }
  for (const q of [
    'limit=0',
    'limit=abc',
    'limit=100000',
    'cursor=-5',
    'status=FOO',
    'overdue=maybe',
    'type[]=x',
    'stage=%00',
  ]) {
    await check(
      await request(stack.app).get(`/api/applications?${q}`).set('Authorization', `Bearer ${token}`),
      `GET ?${q}`,
    );
  }
  for (const q of [
    'schoolCode=',
    'name=' + 'x'.repeat(1000),
    'schoolCode[]=a&name=b',
    'schoolCode=5203020001&name=%F0%9F%98%80',
  ]) {
    await check(
      await request(stack.app).get(`/api/students?${q}`).set('Authorization', `Bearer ${token}`),
      `GET students?${q}`,
    );
  }
  await check(
    await request(stack.app)
      .post('/api/applications')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'text/plain')
      .send('type=TRANSFER'),
    'text/plain body',
  );
  await check(
    await request(stack.app)
      .post('/api/applications')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ reason: 'x'.repeat(200_000) })),
    'oversized body',
  );
  expect(seen.length).toBeGreaterThan(100);
});
