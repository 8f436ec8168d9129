import { bucketRange, minuteBucket, quantileMinutes, type Histogram } from '../domain/histogram';
import { rebuildDerivedReadModel } from '../infra/read-model';
import {
  as,
  decideAs,
  fileTransfer,
  LI,
  SOON,
  startStack,
  testActivities,
  waitFor,
  WANG,
  ZHANG,
  type TestStack,
} from './support/stack';

// What the activities keep beside the cases — 待办's order (waitingSince) and the statistics roll-up — against what
// the cases themselves say, after real cases moved through the real workflow.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const DATE = /^\d{4}-\d{2}-\d{2}$/;
interface Prediction {
  p50: string;
  p80: string;
  stages: { orgCode: string }[];
}

type RollupRow = {
  stage: string;
  orgCode: string;
  open: number;
  overdue: number;
  decided: number;
  histogram: Histogram;
};
const rollup = async () =>
  (
    await stack.prisma.$queryRaw<RollupRow[]>`
      select stage::text as stage, "orgCode", open, overdue, decided, histogram from "StageRollup"
       where open <> 0 or overdue <> 0 or decided <> 0 order by stage, "orgCode"`
  ).map((r) => ({ ...r, histogram: Object.fromEntries(Object.entries(r.histogram).filter(([, n]) => n !== 0)) }));

describe('the statistics roll-up', () => {
  test('kept by the activities as cases move, it equals a recount from the cases', async () => {
    // A transfer approved through all four stages.
    const t = (await fileTransfer(stack, 'nj.s1', ZHANG)).body.id as number;
    for (const [user, stage] of [
      ['nj.s1', 'RECEIVING_SCHOOL'],
      ['nj.edu', 'RECEIVING_COUNTY'],
      ['hhg.s1', 'SENDING_SCHOOL'],
      ['hhg.edu', 'SENDING_COUNTY'],
    ]) {
      expect((await decideAs(stack, user, t, stage)).status).toBe(200);
    }
    // A transfer returned, corrected and resubmitted, then withdrawn at its second stage.
    const r = (await fileTransfer(stack, 'nj.s1', LI)).body.id as number;
    expect((await decideAs(stack, 'nj.s1', r, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decideAs(stack, 'nj.edu', r, 'RECEIVING_COUNTY', 'RETURN', '请补充转学证明')).status).toBe(200);
    expect((await as(stack, 'nj.s1').post(`/api/applications/${r}/resubmit`, { reason: '已补充证明' })).status).toBe(
      200,
    );
    expect((await decideAs(stack, 'nj.s1', r, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await as(stack, 'nj.s1').post(`/api/applications/${r}/withdraw`, { reason: '家长改变主意' })).status).toBe(
      200,
    );
    // A status change left open at its first stage, past its due time (the write the timer makes when it fires).
    const s = await as(stack, 'nj.s1').post('/api/applications', {
      type: 'SUSPEND',
      studentNo: WANG,
      reason: '因病休学',
      effectiveDate: SOON,
      details: { expectedReturnDate: '2027-09-01' },
    });
    expect(s.status).toBe(201);
    await waitFor(
      async () => (await stack.prisma.application.findUniqueOrThrow({ where: { id: s.body.id } })).workflowStartedAt,
    );
    await testActivities(stack.prisma).markStage({
      applicationId: s.body.id,
      round: 1,
      stage: 'SCHOOL',
      event: 'overdue',
      n: 1,
    });

    const kept = await rollup();
    expect(kept.length).toBeGreaterThan(0);
    // The case filed last waits at 南江县实验小学's SCHOOL stage; the others are closed.
    expect(kept.find((k) => k.stage === 'SCHOOL' && k.orgCode === '5119220001')).toMatchObject({ open: 1, overdue: 1 });
    expect(kept.find((k) => k.stage === 'SENDING_COUNTY' && k.orgCode === '520302')).toMatchObject({
      open: 0,
      decided: 1,
    });
    // RECEIVING_SCHOOL of 南江县实验小学 decided three times (two rounds of one case, one of the other).
    expect(kept.find((k) => k.stage === 'RECEIVING_SCHOOL' && k.orgCode === '5119220001')).toMatchObject({
      decided: 3,
    });

    await rebuildDerivedReadModel(stack.prisma);
    expect(await rollup()).toEqual(kept);
  }, 60_000);

  test('the SQL bucketing used for rebuilds is the same function as the one the activities use', async () => {
    const rows = await stack.prisma.$queryRaw<{ m: number; b: number }[]>`
      select m, xueji_minute_bucket(m) as b
        from (select generate_series(0, 5000) as m
              union all select (power(2, e) * (1 + f / 64.0))::int from generate_series(6, 21) e, generate_series(0, 63) f) x`;
    for (const { m, b } of rows) expect([m, b]).toEqual([m, minuteBucket(m)]);
  });

  test('quantiles read from the histogram are exact below an hour and within 3.2 % above', () => {
    for (const minutes of [0, 1, 7, 59, 63, 64, 100, 719, 720, 1441, 14_400, 20_160, 1_000_000]) {
      const got = quantileMinutes({ [minuteBucket(minutes)]: 1 }, 0.5)!;
      if (minutes < 64) expect(got).toBe(minutes);
      else expect(Math.abs(got - minutes) / minutes).toBeLessThanOrEqual(1 / 32);
      const [lo, hi] = bucketRange(minuteBucket(minutes));
      expect(minutes).toBeGreaterThanOrEqual(lo);
      expect(minutes).toBeLessThan(hi);
    }
    // Nearest rank: of 10 stages of 1..10 minutes the median is the 5th, the p90 the 9th.
    const h: Histogram = {};
    for (let m = 1; m <= 10; m++) h[minuteBucket(m)] = 1;
    expect(quantileMinutes(h, 0.5)).toBe(5);
    expect(quantileMinutes(h, 0.9)).toBe(9);
    expect(quantileMinutes({}, 0.5)).toBeNull();
  });

  test('GET /api/admin/stats answers from the roll-up, with minutes as well as hours', async () => {
    const res = await as(stack, 'admin').get('/api/admin/stats');
    expect(res.status).toBe(200);
    const school = res.body.byStage.find((s: { stage: string }) => s.stage === 'RECEIVING_SCHOOL');
    expect(school).toMatchObject({ decided: 3 });
    // Each of those stages was decided within seconds of opening.
    expect(school.medianMinutes).toBe(0);
    expect(school.medianHours).toBe(0);
    const org = res.body.byOrg.find((o: { org: { code: string } }) => o.org.code === '5119220001');
    expect(org.org.name).toBe('南江县实验小学');
    expect(org.open).toBe(1);
  });
});

describe('待办 (GET /api/tasks)', () => {
  test('is ordered by how long each case has waited and paged in SQL, with the total', async () => {
    const ids: number[] = [];
    // 南江县教育局 gets three cases, one after another; each waits from when its stage opened.
    const pupils = await stack.prisma.student.findMany({
      where: { schoolCode: '5203020002', status: 'ENROLLED' },
      orderBy: { studentNo: 'asc' },
      take: 3,
    });
    for (const p of pupils) {
      const id = (await fileTransfer(stack, 'nj.s1', p.studentNo)).body.id as number;
      expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
      ids.push(id);
    }
    // The oldest is made the newest arrival: order follows waitingSince, not the id.
    await stack.prisma.application.update({ where: { id: ids[0] }, data: { waitingSince: new Date() } });

    const first = await as(stack, 'nj.edu').get('/api/tasks?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(3);
    expect(first.body.items.map((a: { id: number }) => a.id)).toEqual([ids[1], ids[2]]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await as(stack, 'nj.edu').get(`/api/tasks?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((a: { id: number }) => a.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();
    expect(second.body.total).toBe(3);
    // Masked in the list, as every list.
    expect(first.body.items[0].student.studentNo).toMatch(/^G\d{6}\*{8}\d{4}$/);

    // Each item carries its predicted completion, computed for the page at once: the same as the case's own page.
    for (const item of [...first.body.items, ...second.body.items] as { id: number; prediction: Prediction }[]) {
      expect(item.prediction).toEqual({
        p50: expect.stringMatching(DATE),
        p80: expect.stringMatching(DATE),
        level: expect.any(String),
        elapsedWorkingDays: expect.any(Number),
        currentStage: { p50: expect.stringMatching(DATE), p80: expect.stringMatching(DATE) },
        stages: expect.any(Array),
      });
      expect(item.prediction.p50 <= item.prediction.p80).toBe(true);
      // RECEIVING_COUNTY, SENDING_SCHOOL, SENDING_COUNTY still to come.
      expect(item.prediction.stages.map((x) => x.orgCode)).toEqual(['511922', '5203020002', '520302']);
      const detail = await as(stack, 'nj.edu').get(`/api/applications/${item.id}`);
      expect(item.prediction).toEqual(detail.body.prediction);
    }

    // Predictions are kept per chain and opening day (the memo): a case that moves on is predicted afresh from where
    // it now waits, and the ones still waiting keep theirs.
    const before = new Map(
      [...first.body.items, ...second.body.items].map((a: { id: number; prediction: Prediction }) => [
        a.id,
        a.prediction,
      ]),
    );
    expect((await decideAs(stack, 'nj.edu', ids[1], 'RECEIVING_COUNTY')).status).toBe(200);
    const after = await as(stack, 'nj.edu').get('/api/tasks?limit=10');
    expect(after.body.items.map((a: { id: number }) => a.id)).toEqual([ids[2], ids[0]]);
    for (const a of after.body.items as { id: number; prediction: Prediction }[]) {
      expect(a.prediction).toEqual(before.get(a.id));
    }
    const moved = (await as(stack, 'hhg.s2').get(`/api/applications/${ids[1]}`)).body.prediction as Prediction;
    expect(moved.stages.map((x) => x.orgCode)).toEqual(['5203020002', '520302']);

    for (const bad of ['limit=0', 'limit=501', 'limit=x', 'cursor=abc', 'cursor=1.99999999999']) {
      const res = await as(stack, 'nj.edu').get(`/api/tasks?${bad}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  }, 60_000);
});

describe('predicted completion in the lists', () => {
  test('业务列表 items carry it for cases in review, null for returned and closed ones; a returned case in 待办 too', async () => {
    const [open, returned, closed] = await stack.prisma.student.findMany({
      where: { schoolCode: '5203020001', status: 'ENROLLED', applications: { none: {} } },
      orderBy: { studentNo: 'asc' },
      take: 3,
    });
    const file = async (studentNo: string) => (await fileTransfer(stack, 'nj.s1', studentNo)).body.id as number;
    const openId = await file(open.studentNo);
    const returnedId = await file(returned.studentNo);
    expect((await decideAs(stack, 'nj.s1', returnedId, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decideAs(stack, 'nj.edu', returnedId, 'RECEIVING_COUNTY', 'RETURN', '材料不全，请补充')).status).toBe(
      200,
    );
    const closedId = await file(closed.studentNo);
    expect(
      (await as(stack, 'nj.s1').post(`/api/applications/${closedId}/withdraw`, { reason: '家长改变主意' })).status,
    ).toBe(200);

    const list = await as(stack, 'nj.s1').get('/api/applications?limit=200');
    expect(list.status).toBe(200);
    const byId = new Map((list.body.items as { id: number; prediction: Prediction | null }[]).map((a) => [a.id, a]));
    const detail = await as(stack, 'nj.s1').get(`/api/applications/${openId}`);
    expect(byId.get(openId)?.prediction).toEqual(detail.body.prediction);
    expect(byId.get(openId)?.prediction?.p50).toMatch(DATE);
    expect(byId.get(returnedId)?.prediction).toBeNull();
    expect(byId.get(closedId)?.prediction).toBeNull();

    // The returned case waits in the applicant's 待办, without a prediction (its return depends on the school).
    const tasks = await as(stack, 'nj.s1').get('/api/tasks?limit=500');
    const inTasks = (tasks.body.items as { id: number; prediction: Prediction | null }[]).find(
      (a) => a.id === returnedId,
    );
    expect(inTasks).toBeDefined();
    expect(inTasks?.prediction).toBeNull();
    // The total (roll-up for the cases in review, returned ones counted) is the recount.
    const [{ n }] = await stack.prisma.$queryRaw<{ n: number }[]>`
      select count(*)::int as n from "Application"
       where "currentOrgCode" = '5119220001' and status in ('IN_REVIEW', 'RETURNED')`;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(tasks.body.total).toBe(n);
    expect(tasks.body.items).toHaveLength(n);
  }, 60_000);

  test('the OpenAPI document says list items always carry it', async () => {
    const doc = (await as(stack, 'nj.s1').get('/api/openapi.json')).body;
    const item = doc.components.schemas.ApplicationListItem;
    expect(item.required).toContain('prediction');
    expect(doc.components.schemas.TaskList.properties.items.items.$ref).toBe(
      '#/components/schemas/ApplicationListItem',
    );
    expect(doc.components.schemas.ApplicationList.properties.items.items.$ref).toBe(
      '#/components/schemas/ApplicationListItem',
    );
  });
});
