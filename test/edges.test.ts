import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import request from 'supertest';
import { idCheckChar } from '../domain/id-number';
import { answerClientErrors } from '../api/hygiene';
import { as, SOON, startStack, WANG, ZHANG, type TestStack } from './support/stack';

// The door: every string a person types passes the one free-text rule, every id and date is checked before it
// reaches a query, and Express's own client errors stay 4xx problem+json. Nothing here may change anything.

let stack: TestStack;
let caseId: number;
let returnedId: number;
let userId: number;
beforeAll(async () => {
  // No worker: requests that pass the door time out at the Update quickly (503) instead of changing a case.
  stack = await startStack({ worker: false, updateTimeoutMs: 200 });
  const filed = await as(stack, 'nj.s1').post('/api/applications', {
    type: 'TRANSFER',
    studentNo: ZHANG,
    reason: '随父母工作调动',
    effectiveDate: SOON,
  });
  expect(filed.status).toBe(201);
  caseId = filed.body.id;
  const abroad = await as(stack, 'nj.s1').post('/api/applications', {
    type: 'STUDY_ABROAD',
    studentNo: WANG,
    reason: '随父母出国',
    effectiveDate: SOON,
    details: { destination: '新加坡' },
  });
  expect(abroad.status).toBe(201);
  returnedId = abroad.body.id;
  // Returned without a workflow: resubmit checks its body before it talks to Temporal.
  await stack.prisma.application.update({
    where: { id: returnedId },
    data: { status: 'RETURNED', currentStage: null, currentOrgCode: '5119220001' },
  });
  userId = (await stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.s2' } })).id;
});
afterAll(async () => {
  await stack?.close();
});

/** What must not move while bad input is refused. */
async function snapshot() {
  const p = stack.prisma;
  const [apps, audit, pupils, users, years, returned] = await Promise.all([
    p.application.findMany({ orderBy: { id: 'asc' }, select: { id: true, status: true, reason: true, round: true } }),
    p.auditEvent.count(),
    p.student.count(),
    p.user.findMany({ orderBy: { id: 'asc' }, select: { id: true, displayName: true, active: true } }),
    p.calendarYear.count(),
    p.application.findUniqueOrThrow({ where: { id: returnedId }, select: { details: true } }),
  ]);
  return { apps, audit, pupils, users, years, returned };
}

const BAD: [string, string][] = [
  ['NUL', '\u0000'],
  ['lone surrogate', '\ud800'],
  ['BEL', '\u0007'],
  ['C1 NEL', '\u0085'],
  ['bidi override', '\u202e'],
];

interface Target {
  what: string;
  user: string | null;
  method: 'post' | 'put' | 'get';
  url: () => string;
  /** A body (or query object for GET) that is right but for the field under test. */
  base: () => Record<string, unknown>;
  /** Where the field is in the body, and how the API names it in errors[].path. */
  field: (string | number)[];
  /** A value that stays within the length limit around the bad character. */
  sample?: string;
}

const body = (type = 'TRANSFER', extra: Record<string, unknown> = {}) => ({
  type,
  studentNo: ZHANG,
  reason: '随父母工作调动',
  effectiveDate: SOON,
  ...extra,
});

const TARGETS: Target[] = [
  {
    what: 'login',
    user: null,
    method: 'post',
    url: () => '/api/auth/login',
    base: () => ({ username: 'nj.s1', password: 'x' }),
    field: ['username'],
  },
  {
    what: 'file',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/applications',
    base: () => body(),
    field: ['reason'],
  },
  {
    what: 'file',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/applications',
    base: () => body(),
    field: ['studentNo'],
    sample: 'G52030220150505001',
  },
  {
    what: 'file',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/applications',
    base: () => body('TRANSFER', { toSchoolCode: '5119220001' }),
    field: ['toSchoolCode'],
    sample: '51192',
  },
  {
    what: 'file',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/applications',
    base: () => body('TRANSFER', { reasonCode: '01' }),
    field: ['reasonCode'],
    sample: '01',
  },
  {
    what: 'file abroad',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/applications',
    base: () => body('STUDY_ABROAD', { studentNo: WANG, details: { destination: '新加坡' } }),
    field: ['details', 'destination'],
  },
  {
    what: 'decide',
    user: 'nj.s1',
    method: 'post',
    url: () => `/api/applications/${caseId}/decisions`,
    base: () => ({ stage: 'RECEIVING_SCHOOL', decision: 'REJECT', comment: '材料不全' }),
    field: ['comment'],
  },
  {
    what: 'withdraw',
    user: 'nj.s1',
    method: 'post',
    url: () => `/api/applications/${caseId}/withdraw`,
    base: () => ({ reason: '家长改变主意' }),
    field: ['reason'],
  },
  {
    what: 'resubmit',
    user: 'nj.s1',
    method: 'post',
    url: () => `/api/applications/${returnedId}/resubmit`,
    base: () => ({ reason: '已更正' }),
    field: ['reason'],
  },
  {
    what: 'resubmit',
    user: 'nj.s1',
    method: 'post',
    url: () => `/api/applications/${returnedId}/resubmit`,
    base: () => ({ details: { destination: '新加坡' } }),
    field: ['details', 'destination'],
  },
  {
    what: 'cancel',
    user: 'admin',
    method: 'post',
    url: () => `/api/applications/${caseId}/cancel`,
    base: () => ({ reason: '重复提交的业务' }),
    field: ['reason'],
  },
  {
    what: 'override',
    user: 'admin',
    method: 'post',
    url: () => `/api/admin/applications/${caseId}/override`,
    base: () => ({ stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason: '学校账号被锁定' }),
    field: ['reason'],
  },
  {
    what: 'override',
    user: 'admin',
    method: 'post',
    url: () => `/api/admin/applications/${caseId}/override`,
    base: () => ({ stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason: '学校账号被锁定', comment: '同意' }),
    field: ['comment'],
  },
  {
    what: 'extend',
    user: 'admin',
    method: 'post',
    url: () => `/api/admin/applications/${caseId}/extend`,
    base: () => ({ stage: 'RECEIVING_SCHOOL', dueDate: SOON, reason: '学校放假延期办理' }),
    field: ['reason'],
  },
  {
    what: 'calendar',
    user: 'admin',
    method: 'put',
    url: () => '/api/admin/calendar/2027',
    base: () => ({ source: '国务院办公厅通知', holidays: [{ name: '元旦', dates: ['2027-01-01'] }], workdays: [] }),
    field: ['source'],
  },
  {
    what: 'calendar',
    user: 'admin',
    method: 'put',
    url: () => '/api/admin/calendar/2027',
    base: () => ({ holidays: [{ name: '元旦', dates: ['2027-01-01'] }], workdays: [] }),
    field: ['holidays', 0, 'name'],
    sample: '元旦',
  },
  {
    what: 'register',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students',
    base: () => pupilBody(),
    field: ['name'],
    sample: '王小',
  },
  {
    what: 'register',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students',
    base: () => pupilBody(),
    field: ['className'],
    sample: '1班',
  },
  {
    what: 'register',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students',
    base: () => pupilBody(),
    field: ['idNumber'],
    sample: '11010520190302',
  },
  {
    what: 'register',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students',
    base: () => pupilBody(),
    field: ['schoolCode'],
    sample: '51192',
  },
  {
    what: 'register',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students',
    base: () => ({
      ...pupilBody(),
      idNumber: undefined,
      noHouseholdRegistration: true,
      guardianIdNumber: '110105198804100015',
    }),
    field: ['guardianIdNumber'],
    sample: '1101051988',
  },
  {
    what: 'create user',
    user: 'admin',
    method: 'post',
    url: () => '/api/admin/users',
    base: () => userBody(),
    field: ['username'],
    sample: 'ab',
  },
  {
    what: 'create user',
    user: 'admin',
    method: 'post',
    url: () => '/api/admin/users',
    base: () => userBody(),
    field: ['displayName'],
  },
  {
    what: 'create user',
    user: 'admin',
    method: 'post',
    url: () => '/api/admin/users',
    base: () => userBody(),
    field: ['orgCode'],
    sample: '51192',
  },
  {
    what: 'create user',
    user: 'admin',
    method: 'post',
    url: () => '/api/admin/users',
    base: () => userBody(),
    field: ['email'],
    sample: 'a@b.cn',
  },
  {
    what: 'create user',
    user: 'admin',
    method: 'post',
    url: () => '/api/admin/users',
    base: () => userBody(),
    field: ['password'],
    sample: 'long-enough-pass',
  },
  {
    what: 'reset password',
    user: 'admin',
    method: 'post',
    url: () => `/api/admin/users/${userId}/reset-password`,
    base: () => ({ password: 'long-enough-pass' }),
    field: ['password'],
  },
  {
    what: 'change password',
    user: 'nj.s2',
    method: 'post',
    url: () => '/api/auth/change-password',
    base: () => ({ currentPassword: 'demo-password', newPassword: 'another-long-one' }),
    field: ['newPassword'],
  },
  {
    what: 'match',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students/match',
    base: () => ({ schoolCode: '5203020001', name: '张小明', studentNo: ZHANG }),
    field: ['name'],
    sample: '张小',
  },
  {
    what: 'match',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students/match',
    base: () => ({ schoolCode: '5203020001', name: '张小明', studentNo: ZHANG }),
    field: ['schoolCode'],
    sample: '52030',
  },
  {
    what: 'match',
    user: 'nj.s1',
    method: 'post',
    url: () => '/api/students/match',
    base: () => ({ schoolCode: '5203020001', name: '张小明', studentNo: ZHANG }),
    field: ['studentNo'],
    sample: 'G5203022015',
  },
  {
    what: 'lookup',
    user: 'nj.s1',
    method: 'get',
    url: () => '/api/students',
    base: () => ({ schoolCode: '5203020001', name: '张小明' }),
    field: ['name'],
    sample: '张小',
  },
  {
    what: 'lookup',
    user: 'nj.s1',
    method: 'get',
    url: () => '/api/students',
    base: () => ({ schoolCode: '5203020001', name: '张小明' }),
    field: ['schoolCode'],
    sample: '52030',
  },
  {
    what: 'pupil search',
    user: 'nj.s1',
    method: 'get',
    url: () => '/api/pupils',
    base: () => ({ q: '张', schoolCode: '5203020001' }),
    field: ['schoolCode'],
    sample: '52030',
  },
  {
    what: 'pupil search',
    user: 'nj.s1',
    method: 'get',
    url: () => '/api/pupils',
    base: () => ({ q: '张', schoolCode: '5203020001' }),
    field: ['q'],
    sample: '张小',
  },
  {
    what: 'audit',
    user: 'admin',
    method: 'get',
    url: () => '/api/admin/audit',
    base: () => ({}),
    field: ['actor'],
    sample: 'admin',
  },
  {
    what: 'audit',
    user: 'admin',
    method: 'get',
    url: () => '/api/admin/audit',
    base: () => ({}),
    field: ['org'],
    sample: '511922',
  },
  {
    what: 'audit',
    user: 'admin',
    method: 'get',
    url: () => '/api/admin/audit',
    base: () => ({}),
    field: ['action'],
    sample: 'auth',
  },
  {
    what: 'audit',
    user: 'admin',
    method: 'get',
    url: () => '/api/admin/audit',
    base: () => ({}),
    field: ['from'],
    sample: '2026-01-01',
  },
];

const withCheck = (first17: string) => first17 + idCheckChar(first17);
function pupilBody() {
  return {
    name: '王小红',
    gender: 'MALE',
    birthDate: '2019-03-02',
    idNumber: withCheck('11010520190302011'),
    grade: 1,
    className: '1年级2班',
  };
}
function userBody() {
  return {
    username: 'new.clerk',
    displayName: '新学籍员',
    role: 'SCHOOL_CLERK',
    orgCode: '5119220001',
    email: 'a@b.cn',
    password: 'long-enough-pass',
  };
}

function withField(base: Record<string, unknown>, field: (string | number)[], value: string) {
  const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const k of field.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[field[field.length - 1]] = value;
  return copy;
}

async function send(t: Target, value: string) {
  const payload = withField(t.base(), t.field, value);
  let req =
    t.method === 'get'
      ? request(stack.app).get(t.url()).query(payload)
      : (t.method === 'put' ? request(stack.app).put(t.url()) : request(stack.app).post(t.url()))
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(payload));
  if (t.user) req = req.set('Authorization', `Bearer ${await stack.login(t.user)}`);
  return req;
}

test('every field a person types refuses NUL, lone surrogates, C0/C1 controls, bidi overrides and over-long values: 400 naming the field, nothing changed', async () => {
  for (const t of TARGETS) if (t.user) await stack.login(t.user);
  const before = await snapshot();
  const failures: string[] = [];
  for (const t of TARGETS) {
    const path = t.field.join('.');
    const values: [string, string][] = [
      ...BAD.map(([name, c]): [string, string] => [
        name,
        `${(t.sample ?? '正常文字').slice(0, 1)}${c}${(t.sample ?? '正常文字').slice(1)}`,
      ]),
      ['over-long', (t.sample ?? '字').slice(0, 1).repeat(t.method === 'get' ? 700 : 10_001)],
    ];
    for (const [name, value] of values) {
      // A lone surrogate cannot travel in a query string (it is not UTF-8): it arrives as U+FFFD, which is text.
      if (t.method === 'get' && name === 'lone surrogate') continue;
      const res = await send(t, value);
      const named = (res.body?.errors ?? []).some((e: { path: string }) => e.path === path);
      if (res.status !== 400 || !named || !/problem\+json/.test(res.headers['content-type'] ?? '')) {
        failures.push(`${t.what} ${path} with ${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
  }
  expect(failures).toEqual([]);
  expect(await snapshot()).toEqual(before);
});

test('the same requests with ordinary text in the field are not refused for it (the rule is not "refuse everything")', async () => {
  for (const t of TARGETS) {
    if (t.what === 'login' || t.what === 'change password') continue; // would count towards the lockout
    const value = t.field.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], t.base());
    if (typeof value !== 'string') continue; // an optional field the base leaves out
    const res = await send(t, value);
    const named = (res.body?.errors ?? []).some((e: { path: string }) => e.path === t.field.join('.'));
    if (named) throw new Error(`${t.what} ${t.field.join('.')} refused its clean value: ${JSON.stringify(res.body)}`);
  }
});

test('ID numbers typed with full-width digits or a lowercase x are the same number', async () => {
  const fullWidth = (s: string) => s.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  // A boy's number (odd 17th digit) whose check character is X.
  let first17 = '';
  for (let seq = 101; seq < 999 && !first17; seq += 2) {
    const f = `11010520190302${seq}`;
    if (idCheckChar(f) === 'X') first17 = f;
  }
  const res = await as(stack, 'nj.s1').post('/api/students', {
    ...pupilBody(),
    name: '钱小宝',
    idNumber: fullWidth(first17) + 'x',
  });
  expect(res.status).toBe(201);
  expect(res.body.studentNo).toBe(`G${first17}X`);
  const parents = await as(stack, 'nj.s1').post('/api/students', {
    ...pupilBody(),
    name: '钱小贝',
    idNumber: undefined,
    noHouseholdRegistration: true,
    guardianIdNumber: fullWidth('110105198804100015'),
  });
  expect(parents.status).toBe(201);
  expect(await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: parents.body.studentNo } })).toMatchObject({
    guardianIdNumber: '110105198804100015',
  });
});

describe('numbers and dates at the door', () => {
  const ids = ['2147483648', '99999999999', '-1', '0', '1e3', '01', '1.0', ' 1', '0x10'];

  test('ids, attachment ids, user ids and cursors beyond 2³¹−1, negative, 1e3 or 01: 400 (never 500)', async () => {
    const admin = await stack.login('admin');
    const clerk = await stack.login('nj.s1');
    const failures: string[] = [];
    for (const id of ids) {
      const e = encodeURIComponent(id);
      for (const [method, url, token] of [
        ['get', `/api/applications/${e}`, clerk],
        ['get', `/api/applications/${e}/attachments`, clerk],
        ['get', `/api/applications/${caseId}/attachments/${e}`, clerk],
        ['post', `/api/applications/${e}/withdraw`, clerk],
        ['post', `/api/admin/applications/${e}/remind`, admin],
        ['post', `/api/admin/users/${e}/disable`, admin],
        ['get', `/api/applications?cursor=${e}`, clerk],
        ['get', `/api/admin/audit?applicationId=${e}`, admin],
      ] as const) {
        const agent = request(stack.app);
        const res = await (method === 'get' ? agent.get(url) : agent.post(url))
          .set('Authorization', `Bearer ${token}`)
          .send({ reason: '理由' });
        if (res.status !== 400)
          failures.push(`${method} ${url}: ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await stack.prisma.user.count({ where: { active: false } })).toBe(0);
  });

  test('impossible dates (2026-13-45, 2026-02-30) are refused wherever a date is taken, queries included', async () => {
    const failures: string[] = [];
    for (const d of ['2026-13-45', '2026-02-30', '2026-2-3', '20260203']) {
      const checks: [string, Promise<request.Response>, string][] = [
        [
          'effectiveDate',
          as(stack, 'nj.s1').post('/api/applications', body('TRANSFER', { studentNo: WANG, effectiveDate: d })),
          'effectiveDate',
        ],
        [
          'expectedReturnDate',
          as(stack, 'nj.s1').post(
            '/api/applications',
            body('SUSPEND', { studentNo: WANG, details: { expectedReturnDate: d } }),
          ),
          'details.expectedReturnDate',
        ],
        [
          'dueDate',
          as(stack, 'admin').post(`/api/admin/applications/${caseId}/extend`, {
            stage: 'RECEIVING_SCHOOL',
            dueDate: d,
            reason: '学校放假延期',
          }),
          'dueDate',
        ],
        ['birthDate', as(stack, 'nj.s1').post('/api/students', { ...pupilBody(), birthDate: d }), 'birthDate'],
        ['audit from', as(stack, 'admin').get(`/api/admin/audit?from=${d}`), 'from'],
        ['audit to', as(stack, 'admin').get(`/api/admin/audit?to=${d}`), 'to'],
        [
          'audit to, a time',
          as(stack, 'admin').get(`/api/admin/audit?to=${encodeURIComponent(`${d}T08:00:00+08:00`)}`),
          'to',
        ],
        [
          'calendar',
          request(stack.app)
            .put('/api/admin/calendar/2027')
            .set('Authorization', `Bearer ${await stack.login('admin')}`)
            .send({ holidays: [{ name: '元旦', dates: [d.replace('2026', '2027')] }], workdays: [] }),
          'holidays.0.dates.0',
        ],
      ];
      for (const [what, pending, path] of checks) {
        const res = await pending;
        const named = (res.body?.errors ?? []).some((e: { path: string }) => e.path === path);
        if (res.status !== 400 || !named)
          failures.push(`${what} ${d}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("Express's own client errors stay 4xx problem+json", () => {
  const expectProblem = (res: request.Response, status: number) => {
    expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
      status,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(res.body.title).toMatch(/[\u4e00-\u9fff]/);
    expect(res.headers['cache-control']).toBe('no-store');
  };

  test('bad percent-encoding in the path → 400', async () => {
    const token = await stack.login('nj.s1');
    for (const path of ['/api/applications/%ZZ', '/api/students/%E0%A4%A', '/api/applications/%ZZ/attachments']) {
      expectProblem(await request(stack.app).get(path).set('Authorization', `Bearer ${token}`), 400);
    }
  });

  test('a gzip body that is not gzip → 400; an unsupported encoding or charset → 415; a non-JSON body → 415; too large → 413', async () => {
    const token = await stack.login('nj.s1');
    const post = () => request(stack.app).post('/api/applications').set('Authorization', `Bearer ${token}`);
    expectProblem(
      await post().set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('{"type":"TRANSFER"}'),
      400,
    );
    expectProblem(
      await post().set('Content-Type', 'application/json').set('Content-Encoding', 'compress').send('{"a":1}'),
      415,
    );
    expectProblem(await post().set('Content-Type', 'application/json; charset=latin1').send('{"a":1}'), 415);
    expectProblem(await post().set('Content-Type', 'text/plain').send('type=TRANSFER'), 415);
    expectProblem(await post().set('Content-Type', 'application/x-www-form-urlencoded').send('type=TRANSFER'), 415);
    expectProblem(
      await post()
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ reason: 'x'.repeat(200_000) })),
      413,
    );
    // A real gzip body (sent as raw bytes) that inflates beyond the limit is refused as too large …
    const bomb = zlib.gzipSync(Buffer.from(JSON.stringify({ reason: ' '.repeat(5_000_000) })));
    const big = await rawPost('/api/applications', token, bomb, 'gzip');
    expect([big.status, big.type, big.cacheControl]).toEqual([
      413,
      'application/problem+json; charset=utf-8',
      'no-store',
    ]);
    // … and a correct gzip body is read.
    const gz = zlib.gzipSync(Buffer.from(JSON.stringify({ type: 'NOPE' })));
    const ok = await rawPost('/api/applications', token, gz, 'gzip');
    expect(ok.status).toBe(400);
    expect(JSON.parse(ok.body).errors.map((e: { path: string }) => e.path)).toContain('type');
  });
});

/** A POST with exactly these bytes (supertest would serialise a Buffer sent as JSON). */
async function rawPost(path: string, token: string, bytes: Buffer, encoding: string) {
  const server = stack.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<{ status: number; type?: string; cacheControl?: string; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path,
            method: 'POST',
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/json',
              'Content-Encoding': encoding,
              'Content-Length': bytes.length,
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                type: res.headers['content-type'],
                cacheControl: res.headers['cache-control'],
                body,
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(bytes);
      },
    );
  } finally {
    server.close();
  }
}

test("what Node's HTTP parser refuses (a 20 kB URL) is problem+json too", async () => {
  const server = stack.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  answerClientErrors(server);
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; type?: string; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: `/api/applications/${'9'.repeat(20_000)}` }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(answer.body).title).toMatch(/[\u4e00-\u9fff]/);
  } finally {
    server.close();
  }
});

describe('Cache-Control: no-store', () => {
  test('on authenticated answers, errors included, and on login and refresh', async () => {
    const login = await request(stack.app)
      .post('/api/auth/login')
      .send({ username: 'hhg.s2', password: 'demo-password' });
    expect(login.status).toBe(200);
    expect(login.headers['cache-control']).toBe('no-store');
    const refresh = await request(stack.app).post('/api/auth/refresh').send({ refreshToken: login.body.refreshToken });
    expect(refresh.status).toBe(200);
    expect(refresh.headers['cache-control']).toBe('no-store');
    const auth = `Bearer ${refresh.body.token}`;
    for (const url of [
      '/api/applications',
      '/api/tasks',
      '/api/organisations',
      `/api/applications/${caseId}`,
      '/api/admin/stuck',
      '/api/nope',
    ]) {
      const res = await request(stack.app).get(url).set('Authorization', auth);
      expect([url, res.headers['cache-control']]).toEqual([url, 'no-store']);
      // Nothing keeps them, so no ETag either (Express would hash each body for one).
      expect([url, res.headers.etag]).toEqual([url, undefined]);
    }
    const unauthenticated = await request(stack.app).get('/api/applications');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['cache-control']).toBe('no-store');
  });
});
