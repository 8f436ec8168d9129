import ExcelJS from 'exceljs';
import request from 'supertest';
import { rebuildDerivedReadModel } from '../infra/read-model';
import { as, decideAs, fileTransfer, LI, startStack, ZHANG, type TestStack } from './support/stack';

// GET /api/admin/stats on the real stack. Three transfers are filed into 南江县实验小学 and passed on by
// it; the times of those decided steps are then set in the database (and the roll-up rebuilt from them, as for any
// data written straight into the tables), so the median and p90 are known: hours 2, 4, 10 → median (nearest rank)
// 4 h, p90 10 h, read from minute histograms as the middle of their buckets: 244 min (4.067 h) and 592 min (9.867 h).
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const HOUR = 3_600_000;
const NJ_SCHOOL = { code: '5119220001', name: '南江县实验小学' };
const NJ_COUNTY = { code: '511922', name: '南江县教育局' };

/** Three cases waiting at 南江县教育局: one overdue (its timer has fired), one due tomorrow, one without a deadline. */
async function arrange() {
  expect(await stack.prisma.application.count()).toBe(0);
  const third = await stack.prisma.student.findFirstOrThrow({
    where: { schoolCode: '5203020001', status: 'ENROLLED', studentNo: { notIn: [ZHANG, LI] } },
  });
  const now = Date.now();
  const plan = [
    { studentNo: ZHANG, hours: 2, dueAt: new Date(now - HOUR) },
    { studentNo: LI, hours: 10, dueAt: new Date(now + 24 * HOUR) },
    { studentNo: third.studentNo, hours: 4, dueAt: null },
  ];
  for (const p of plan) {
    const created = await fileTransfer(stack, 'nj.s1', p.studentNo);
    expect(created.status).toBe(201);
    const id: number = created.body.id;
    const passed = await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
    expect(passed.body.currentStage).toBe('RECEIVING_COUNTY');
    const openedAt = new Date(now - 48 * HOUR);
    await stack.prisma.applicationStep.update({
      where: { applicationId_round_stage: { applicationId: id, round: 1, stage: 'RECEIVING_SCHOOL' } },
      data: { openedAt, decidedAt: new Date(openedAt.getTime() + p.hours * HOUR) },
    });
    await stack.prisma.applicationStep.update({
      where: { applicationId_round_stage: { applicationId: id, round: 1, stage: 'RECEIVING_COUNTY' } },
      data: { dueAt: p.dueAt, overdueAt: p.dueAt && p.dueAt.getTime() < now ? p.dueAt : null },
    });
  }
  await rebuildDerivedReadModel(stack.prisma);
}

/** Downloads a workbook, collecting the body as bytes. */
async function download(url: string) {
  return request(stack.app)
    .get(url)
    .set('Authorization', `Bearer ${await stack.login('admin')}`)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

const rowsOf = (ws: ExcelJS.Worksheet) =>
  ws.getSheetValues().flatMap((r) => (Array.isArray(r) ? [Array.from(r.slice(1), (v) => v ?? null)] : []));

describe('GET /api/admin/stats', () => {
  beforeAll(arrange);

  test('counts open and overdue cases where they wait, and median/p90 hours over decided steps', async () => {
    const res = await as(stack, 'admin').get('/api/admin/stats');
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
    const decided = { medianHours: 4.067, p90Hours: 9.867, medianMinutes: 244, p90Minutes: 592, decided: 3 };
    const none = { medianHours: null, p90Hours: null, medianMinutes: null, p90Minutes: null, decided: 0 };
    expect(res.body.byStage).toEqual([
      { stage: 'RECEIVING_SCHOOL', open: 0, overdue: 0, ...decided },
      { stage: 'RECEIVING_COUNTY', open: 3, overdue: 1, ...none },
    ]);
    expect(res.body.byOrg).toEqual([
      { org: NJ_COUNTY, open: 3, overdue: 1, ...none },
      { org: NJ_SCHOOL, open: 0, overdue: 0, ...decided },
    ]);
  });

  test.each(['/api/admin/stats.xlsx', '/api/admin/stats?format=xlsx'])(
    '%s downloads the same figures as a workbook with Chinese headers',
    async (url) => {
      const res = await download(url);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="?stats-\d{4}-\d{2}-\d{2}\.xlsx"?$/);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(res.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
      expect(wb.worksheets.map((ws) => ws.name)).toEqual(['按环节', '按单位']);
      const head = ['在办', '超期', '中位用时(分钟)', 'P90用时(分钟)', '中位用时(小时)', 'P90用时(小时)', '已办结'];
      expect(rowsOf(wb.getWorksheet('按环节')!)).toEqual([
        ['环节', ...head],
        ['转入学校审核', 0, 0, 244, 592, 4.067, 9.867, 3],
        ['转入县教育局审核', 3, 1, null, null, null, null, 0],
      ]);
      expect(rowsOf(wb.getWorksheet('按单位')!)).toEqual([
        ['单位代码', '单位', ...head],
        [NJ_COUNTY.code, NJ_COUNTY.name, 3, 1, null, null, null, null, 0],
        [NJ_SCHOOL.code, NJ_SCHOOL.name, 0, 0, 244, 592, 4.067, 9.867, 3],
      ]);
    },
  );

  test('only administrators: a school or a county bureau gets 403; an unknown format is a 400', async () => {
    for (const user of ['nj.s1', 'nj.edu']) {
      expect((await as(stack, user).get('/api/admin/stats')).status).toBe(403);
      expect((await as(stack, user).get('/api/admin/stats.xlsx')).status).toBe(403);
    }
    const bad = await as(stack, 'admin').get('/api/admin/stats?format=csv');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'format' })]);
  });

  // Last: it changes the cases the tests above count.
  test('a case returned to its applicant is no longer open or overdue where it waited (through the workflow)', async () => {
    const overdue = await stack.prisma.applicationStep.findFirstOrThrow({
      where: { stage: 'RECEIVING_COUNTY', overdueAt: { not: null } },
    });
    const returned = await decideAs(stack, 'nj.edu', overdue.applicationId, 'RECEIVING_COUNTY', 'RETURN', '请补充证明');
    expect(returned.body.status).toBe('RETURNED');
    const res = await as(stack, 'admin').get('/api/admin/stats');
    expect(res.body.byStage[1]).toMatchObject({ stage: 'RECEIVING_COUNTY', open: 2, overdue: 0, decided: 1 });
  });
});
