import request from 'supertest';
import { CN_WORKING_CALENDAR as cal, endOfShanghaiDay, shanghaiDate } from '../domain/calendar';
import { as, decideAs, fileTransfer, LI, startStack, waitFor, WANG, ZHAO, type TestStack } from './support/stack';

// Guardian self-service (issue 14 item 4) and the predicted completion (item 5) on the real stack: a transfer of 王芳
// from 南江县实验小学 into 红花岗区第一小学, with a history of decided stages written into the tables first so each
// holder's fallback level is known:
//   5203020001 红花岗区第一小学 (receiving school)  5 stages of its own + 18 of its county's other school → COUNTY
//   520302     红花岗区教育局                       22 stages of its own, 6 working days each        → ORG
//   5119220001 南江县实验小学 (sending school)     25 stages of its own, 2 working days each        → ORG
//   511922     南江县教育局                         none, nor any bureau in province 51                → PRIOR
const APP_URL = 'https://xueji.example.org';
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ appUrl: APP_URL });
  await writeHistory();
});
afterAll(async () => {
  await stack?.close();
});

const today = () => shanghaiDate(Date.now());
const at10 = (date: string) => new Date(Date.parse(`${date}T10:00:00+08:00`));

/** Closed cases of 赵磊 with one decided stage each, all in the last months. */
async function writeHistory() {
  const admin = await stack.prisma.user.findFirstOrThrow({ where: { username: 'admin' } });
  const plan: [string, 'SCHOOL' | 'COUNTY', number, number][] = [
    ['5203020001', 'SCHOOL', 5, 1],
    ['5203020002', 'SCHOOL', 18, 1],
    ['520302', 'COUNTY', 22, 6],
    ['5119220001', 'SCHOOL', 25, 2],
  ];
  let n = 0;
  for (const [orgCode, stage, count, days] of plan) {
    for (let i = 0; i < count; i += 1) {
      n += 1;
      // Opened between 20 and 80 working days ago.
      const opened = cal.addWorkingDays(shanghaiDate(Date.now() - 120 * 86_400_000), (n * 7) % 60).date;
      const decided = cal.addWorkingDays(opened, days).date;
      await stack.prisma.application.create({
        data: {
          type: 'SUSPEND',
          studentNo: ZHAO,
          fromSchoolCode: '5203020002',
          applicantOrgCode: '5203020002',
          status: 'APPROVED',
          reason: '历史数据',
          effectiveDate: at10(opened),
          workflowId: `history-${n}`,
          createdById: admin.id,
          closedAt: at10(decided),
          steps: {
            create: [
              {
                round: 1,
                seq: 1,
                stage,
                orgCode,
                openedAt: at10(opened),
                decidedAt: at10(decided),
                decision: 'APPROVE',
              },
            ],
          },
        },
      });
    }
  }
}

const progress = (body: unknown, ip = '203.0.113.9', app = stack.app) =>
  request(app)
    .post('/api/public/progress')
    .set('X-Forwarded-For', ip)
    .send(body as object);

/** What a problem+json answer says, without what differs per request. */
const said = (res: request.Response) => ({
  status: res.status,
  type: res.body.type,
  title: res.body.title,
  detail: res.body.detail,
  keys: Object.keys(res.body).sort(),
});

describe('a transfer followed by the family', () => {
  let id: number;
  let ref: string;
  let code: string;

  test('filing answers the clerk with the family’s reference and query code, once; only a hash is stored', async () => {
    const res = await fileTransfer(stack, 'hhg.s1', WANG);
    expect(res.status).toBe(201);
    id = res.body.id;
    const access = res.body.guardianAccess;
    expect(access.ref).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(access.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}$/);
    ref = access.ref;
    code = access.code;
    const [plainRef, plainCode] = [ref.replace(/-/g, ''), code.replace(/-/g, '')];
    expect(access.url).toBe(`${APP_URL}/progress/${plainRef}#${plainCode}`);
    const row = await stack.prisma.application.findUniqueOrThrow({ where: { id } });
    expect(row.publicRef).toBe(plainRef);
    expect(row.queryCodeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(plainCode);
    // Not in the case as read later.
    const read = await as(stack, 'hhg.s1').get(`/api/applications/${id}`);
    expect(read.body.guardianAccess).toBeUndefined();
  });

  test('the case page predicts completion from each holder’s own durations, falling back where there are few', async () => {
    const res = await as(stack, 'hhg.s1').get(`/api/applications/${id}`);
    expect(res.status).toBe(200);
    const p = res.body.prediction;
    expect(p.stages).toEqual([
      { orgCode: '5203020001', level: 'COUNTY', basis: 23 },
      { orgCode: '520302', level: 'ORG', basis: 22 },
      { orgCode: '5119220001', level: 'ORG', basis: 25 },
      { orgCode: '511922', level: 'PRIOR', basis: 0 },
    ]);
    expect(p.level).toBe('PRIOR');
    expect(p.elapsedWorkingDays).toBe(0);
    // School stages 1 day (in the county), bureau 6, sending school 2, and 0–10 evenly for 南江县教育局.
    const t = today();
    expect(p.p50 >= cal.addWorkingDays(t, 1 + 6 + 2).date).toBe(true);
    expect(p.p80 >= p.p50).toBe(true);
    expect(p.p80 <= cal.addWorkingDays(t, 1 + 6 + 2 + 10).date).toBe(true);
    expect(p.currentStage).toEqual({ p50: cal.addWorkingDays(t, 1).date, p80: cal.addWorkingDays(t, 1).date });
  });

  test('the family’s page: stage, holder, since, due date, prediction — no name, no ID number, no reason', async () => {
    // The workflow sets the first stage's due date when it starts.
    await waitFor(() =>
      stack.prisma.applicationStep.findFirst({
        where: { applicationId: id, stage: 'RECEIVING_SCHOOL', dueAt: { not: null } },
      }),
    );
    const res = await progress({ ref: ref.toLowerCase(), code: ` ${code.toLowerCase()} ` });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const app = (await as(stack, 'hhg.s1').get(`/api/applications/${id}`)).body;
    expect(res.body).toMatchObject({
      ref,
      type: '转学',
      status: 'IN_REVIEW',
      stage: '转入学校审核',
      holder: '遵义市红花岗区第一小学',
      since: today(),
      dueDate: shanghaiDate(Date.parse(app.steps[0].dueAt)),
      overdue: false,
      prediction: { p50: app.prediction.p50, p80: app.prediction.p80 },
      closedOn: null,
      visibleUntil: null,
    });
    expect(res.body.steps).toHaveLength(4);
    expect(res.body.id).toBeUndefined();
    const text = JSON.stringify(res.body);
    for (const secret of ['王', '芳', WANG.slice(1, 7), WANG.slice(-4), '随父母工作调动']) {
      expect(text).not.toContain(secret);
    }
    expect(
      await stack.prisma.publicAccessLog.count({
        where: { endpoint: 'case.progress', outcome: 'FOUND', subjectId: id },
      }),
    ).toBe(1);
  });

  test('every wrong input gets the same 404', async () => {
    const wrong = [
      { ref, code: 'AAAA-AAAA-AA' },
      { ref: 'ZZZZ-ZZZZ', code },
      { ref: 'nonsense', code },
      { ref, code: '' },
      { ref },
      {},
      { ref: 123, code: ['x'] },
    ];
    const answers = await Promise.all(wrong.map((b) => progress(b)));
    expect(said(answers[0])).toMatchObject({ status: 404 });
    for (const a of answers) expect(said(a)).toEqual(said(answers[0]));
    expect(answers[0].body.detail).toContain('案件');
  });

  test('the stuck view warns of a stage predicted to pass its due date (预计超期)', async () => {
    // The receiving school's stage is due by the end of today; its p50 is tomorrow.
    await stack.prisma.applicationStep.update({
      where: { applicationId_round_stage: { applicationId: id, round: 1, stage: 'RECEIVING_SCHOOL' } },
      data: { dueAt: new Date(endOfShanghaiDay(today())) },
    });
    const res = await as(stack, 'admin').get('/api/admin/stuck');
    const item = res.body.items.find((i: { id: number }) => i.id === id);
    expect(item).toMatchObject({ overdue: false, predictedOverdue: true });
    expect(item.prediction.currentStage.p50 > today()).toBe(true);
  });

  test('RETURNED: the page says the school has it back, with no comment and no prediction', async () => {
    expect((await decideAs(stack, 'hhg.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    const moved = await progress({ ref, code });
    expect(moved.body).toMatchObject({ stage: '转入县教育局审核', holder: '红花岗区教育局' });
    expect(moved.body.steps[0]).toMatchObject({ org: '遵义市红花岗区第一小学', result: '同意', decidedOn: today() });
    const returned = await decideAs(stack, 'hhg.edu', id, 'RECEIVING_COUNTY', 'RETURN', '请补充父母户籍迁移证明');
    expect(returned.status).toBe(200);
    const res = await progress({ ref, code });
    expect(res.body).toMatchObject({ status: 'RETURNED', stage: null, holder: null, prediction: null });
    expect(res.body.statusText).toContain('联系申请学校');
    expect(JSON.stringify(res.body)).not.toContain('户籍迁移');
    expect((await as(stack, 'hhg.s1').get(`/api/applications/${id}`)).body.prediction).toBeNull();
  });

  test('a lost receipt: the applicant school issues a new code, the old one stops working', async () => {
    expect((await as(stack, 'nj.s1').post(`/api/applications/${id}/query-code`)).status).toBe(404);
    const res = await as(stack, 'hhg.s1').post(`/api/applications/${id}/query-code`);
    expect(res.status).toBe(200);
    expect(res.body.ref).toBe(ref);
    expect(res.body.code).not.toBe(code);
    expect((await progress({ ref, code })).status).toBe(404);
    code = res.body.code;
    expect((await progress({ ref, code })).status).toBe(200);
    const [event] = await stack.prisma.auditEvent.findMany({ where: { action: 'application.query_code' } });
    expect(JSON.stringify(event.details)).not.toContain(code.replace(/-/g, ''));
  });

  test('throttled per address (limit 3 here), never locking the family out', async () => {
    const app = stack.appWith({ publicLimit: 3 });
    const ip = '192.0.2.80';
    for (let i = 0; i < 3; i++) expect((await progress({ ref, code: 'BBBBBBBBBB' }, ip, app)).status).toBe(404);
    const throttled = await progress({ ref, code }, ip, app);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // The same family from another address is answered.
    expect((await progress({ ref, code }, '192.0.2.81', app)).status).toBe(200);
    expect(
      await stack.prisma.publicAccessLog.count({ where: { endpoint: 'case.progress', ip, outcome: 'THROTTLED' } }),
    ).toBe(1);
  });

  test('closed: shown for 90 days after closing, then answered like a wrong code', async () => {
    expect(
      (await as(stack, 'hhg.s1').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' })).status,
    ).toBe(200);
    const res = await progress({ ref, code });
    expect(res.body).toMatchObject({ status: 'WITHDRAWN', closedOn: today(), prediction: null });
    expect(res.body.visibleUntil).toBe(shanghaiDate(Date.now() + 90 * 86_400_000));
    const wrong = await progress({ ref, code: 'AAAA-AAAA-AA' });
    await stack.prisma.application.update({
      where: { id },
      data: { closedAt: new Date(Date.now() - 91 * 86_400_000) },
    });
    const expired = await progress({ ref, code });
    expect(said(expired)).toEqual(said(wrong));
    expect(await stack.prisma.publicAccessLog.count({ where: { endpoint: 'case.progress', outcome: 'EXPIRED' } })).toBe(
      1,
    );
  });
});

test('REJECTED: the page says it ended without approval and to ask the school, never the reason', async () => {
  const filed = await fileTransfer(stack, 'nj.s1', LI);
  expect(filed.status).toBe(201);
  const { ref, code } = filed.body.guardianAccess;
  const rejected = await decideAs(stack, 'nj.s1', filed.body.id, 'RECEIVING_SCHOOL', 'REJECT', '学位已满，无法接收');
  expect(rejected.status).toBe(200);
  const res = await progress({ ref, code });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 'REJECTED', stage: null, prediction: null, closedOn: today() });
  expect(res.body.statusText).toContain('原因请向申请学校咨询');
  expect(res.body.steps[0]).toMatchObject({ result: '不同意', decidedOn: today() });
  expect(JSON.stringify(res.body)).not.toContain('学位已满');
  expect(JSON.stringify(res.body)).not.toContain('李');
});
