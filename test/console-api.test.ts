import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import request from 'supertest';
import { rebuildDerivedReadModel } from '../infra/read-model';
import { loadReasonCodes } from '../infra/reason-codes';
import { regionOf } from '../infra/regions';
import { as, decideAs, fileTransfer, LI, registerPupil, startStack, ZHANG, type TestStack } from './support/stack';

// What the console needs beside the national system: suggestions ranked by pinyin at one school, the open-case note
// at the lookup, 学籍查询 within reach, schools by region, coded reasons, case search, county statistics, the audit
// chain's verification.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const HHG1 = '5203020001';
const lookup = (name: string, user = 'nj.s1', school = HHG1) =>
  as(stack, user).get(`/api/students?schoolCode=${school}&name=${encodeURIComponent(name)}`);

describe('suggestions at 遵义市红花岗区第一小学', () => {
  test.each([
    ['李化', '李华', 'SAME_SOUND'],
    ['李滑', '李华', 'SAME_TONE'],
    ['章小明', '张小明', 'SAME_TONE'],
  ])('%s finds %s (%s)', async (typed, found, rank) => {
    const res = await lookup(typed);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
    const hit = res.body.suggestions.find((p: { name: string }) => p.name === found);
    // Another county's pupil: outside 南江县实验小学's reach, so the 学籍号 only to its region (DESIGN §5).
    expect(hit).toMatchObject({ match: rank, studentNo: expect.stringMatching(/^G\d{6}\*{12}$/) });
    expect(res.body.hint).toContain(found);
  });

  test('ranked: look-alike first, then same pinyin with tones, then without; within the school; at most 10', async () => {
    // Pupils registered for the ranking beside the demo 李华 (huá): 李骅 (huá), 李華 (huá), 李桦 (huà); 刘子淞, 刘子松.
    for (const [name, serial] of [
      ['李桦', '301'],
      ['李骅', '303'],
      ['李華', '305'],
      ['刘子淞', '307'],
      ['刘子松', '309'],
    ]) {
      const r = await registerPupil(stack, 'hhg.s1', {
        name,
        gender: 'MALE',
        birthDate: '2015-04-04',
        serial,
        grade: 5,
        className: '5年级1班',
      });
      expect(r.status).toBe(201);
    }
    const res = await lookup('李哗');
    const ranked = res.body.suggestions.map((p: { name: string; match: string }) => [p.name, p.match]);
    expect(
      ranked
        .slice(0, 3)
        .map(([n]: string[]) => n)
        .sort(),
    ).toEqual(['李华', '李骅', '李華'].sort());
    expect(ranked.slice(0, 3).every(([, m]: string[]) => m === 'SAME_TONE')).toBe(true);
    expect(ranked.slice(3)).toContainEqual(['李桦', 'SAME_SOUND']);
    // A look-alike character (凇 for 淞) ranks before a character that only sounds the same (松).
    const lookAlike = await lookup('刘子凇');
    expect(lookAlike.body.suggestions.map((p: { name: string; match: string }) => [p.name, p.match])).toEqual([
      ['刘子淞', 'LOOK_ALIKE'],
      ['刘子松', 'SAME_TONE'],
    ]);
    expect(res.body.suggestions.length).toBeLessThanOrEqual(10);
    // Within the school: nobody from 南江县实验小学.
    expect(res.body.suggestions.every((p: { schoolCode: string }) => p.schoolCode === HHG1)).toBe(true);
  });
});

describe('the open case at the lookup', () => {
  test('"在办（转学，审核中）": the destination only for a party to the case', async () => {
    const filed = await fileTransfer(stack, 'nj.s1', LI);
    expect(filed.status).toBe(201);
    const party = await lookup('李华', 'nj.s1');
    expect(party.body.items[0].openCase).toMatchObject({
      type: 'TRANSFER',
      label: '在办（转学至南江县实验小学，审核中）',
      applicationId: filed.body.id,
      toSchool: { code: '5119220001', name: '南江县实验小学' },
    });
    // Another school looking the pupil up learns that a case is open, not where the child is going.
    for (const user of ['nj.s2', 'hhg.s2']) {
      const other = await lookup('李华', user);
      expect(other.body.items[0].openCase).toEqual({
        type: 'TRANSFER',
        status: 'IN_REVIEW',
        label: '在办（转学，审核中）',
        applicationId: null,
        toSchool: null,
      });
      expect(JSON.stringify(other.body)).not.toContain('南江县实验小学');
    }
    // The pupil's own school before its stage is reached: no party yet, no destination either.
    const own = await lookup('李华', 'hhg.s1');
    expect(own.body.items[0].openCase.toSchool).toBeNull();
  });
});

describe('学籍查询 within reach', () => {
  test('a school finds its own pupils by name or whole 学籍号, masked in the list; others are out of reach', async () => {
    const byName = await as(stack, 'hhg.s1').get(`/api/pupils?q=${encodeURIComponent('张小')}`);
    expect(byName.status).toBe(200);
    const zhang = byName.body.items.find((p: { name: string }) => p.name === '张小明');
    expect(zhang).toMatchObject({ studentNo: 'G520302********0014', schoolCode: HHG1 });
    expect(JSON.stringify(byName.body)).not.toContain(ZHANG.slice(1));
    const byNo = await as(stack, 'hhg.s1').get(`/api/pupils?q=${ZHANG.toLowerCase()}`);
    expect(byNo.body.items.map((p: { name: string }) => p.name)).toEqual(['张小明']);
    // 南江县第二小学 does not reach 张小明: nothing found, and his page is 404.
    expect((await as(stack, 'nj.s2').get(`/api/pupils?q=${ZHANG}`)).body.items).toEqual([]);
    expect((await as(stack, 'nj.s2').get(`/api/pupils/${zhang.ref}`)).status).toBe(404);
    // The county reaches its schools' pupils; the administrator everyone.
    expect((await as(stack, 'hhg.edu').get(`/api/pupils?q=${ZHANG}`)).body.items).toHaveLength(1);
    expect((await as(stack, 'admin').get(`/api/pupils?q=${ZHANG}`)).body.items).toHaveLength(1);
    const bad = await as(stack, 'hhg.s1').get('/api/pupils?q=');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('q');
  });

  test("a pupil's page: the whole record, the change history linked to cases, and the cases the caller may see", async () => {
    const filed = await fileTransfer(stack, 'nj.s1', ZHANG);
    const id = filed.body.id;
    for (const [user, stage] of [
      ['nj.s1', 'RECEIVING_SCHOOL'],
      ['nj.edu', 'RECEIVING_COUNTY'],
      ['hhg.s1', 'SENDING_SCHOOL'],
      ['hhg.edu', 'SENDING_COUNTY'],
    ]) {
      expect((await decideAs(stack, user, id, stage)).status).toBe(200);
    }
    const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    const page = await as(stack, 'nj.s1').get(`/api/pupils/${pupil.ref}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ studentNo: ZHANG, schoolName: '南江县实验小学', openCase: null });
    expect(page.body.history).toEqual([
      expect.objectContaining({
        type: 'TRANSFER',
        applicationId: id,
        toSchool: { code: '5119220001', name: '南江县实验小学' },
      }),
    ]);
    expect(page.body.cases.map((c: { id: number }) => c.id)).toContain(id);
    // The sending school keeps the pupil in reach for 30 days after the transfer.
    expect((await as(stack, 'hhg.s1').get(`/api/pupils/${pupil.ref}`)).status).toBe(200);
    await stack.prisma.studentHistory.updateMany({
      where: { applicationId: id },
      data: { createdAt: new Date(Date.now() - 31 * 86_400_000) },
    });
    expect((await as(stack, 'hhg.s1').get(`/api/pupils/${pupil.ref}`)).status).toBe(404);
  });
});

describe('schools among thousands', () => {
  test('regions named from the code prefixes (GB/T 2260)', () => {
    expect(regionOf('5203020001')).toEqual({
      province: { code: '520000', name: '贵州省' },
      city: { code: '520300', name: '遵义市' },
      county: { code: '520302', name: '红花岗区' },
    });
    expect(regionOf('511922')?.city.name).toBe('巴中市');
    expect(regionOf('110105')?.city.name).toBe('北京市');
    expect(regionOf('990000')).toBeNull();
  });

  test('the cascade lists regions that have schools; search by code prefix or a part of the name', async () => {
    const tree = await as(stack, 'nj.s1').get('/api/organisations/regions');
    expect(tree.body.items.map((p: { name: string }) => p.name).sort()).toEqual(['四川省', '贵州省'].sort());
    const guizhou = tree.body.items.find((p: { name: string }) => p.name === '贵州省');
    expect(guizhou.cities[0]).toMatchObject({
      name: '遵义市',
      counties: [{ code: '520302', name: '红花岗区', schools: 2 }],
    });
    const byName = await as(stack, 'nj.s1').get(`/api/organisations?kind=SCHOOL&q=${encodeURIComponent('第二')}`);
    expect(byName.body.items.map((o: { code: string }) => o.code)).toEqual(['5119220002', '5203020002']);
    const byCode = await as(stack, 'nj.s1').get('/api/organisations?q=520302&kind=SCHOOL&limit=1');
    expect(byCode.body).toMatchObject({ items: [{ code: '5203020001', region: { county: '红花岗区' } }], more: true });
    const inCounty = await as(stack, 'nj.s1').get('/api/organisations?region=5119&kind=SCHOOL');
    expect(inCounty.body.items.map((o: { code: string }) => o.code)).toEqual(['5119220001', '5119220002']);
    expect((await as(stack, 'nj.s1').get('/api/organisations?region=5')).status).toBe(400);
  });
});

describe('coded reasons', () => {
  test('a list per change type; an unknown code is refused naming reasonCode; the case keeps its code', async () => {
    const codes = await as(stack, 'nj.s1').get('/api/reason-codes');
    expect(codes.body.TRANSFER[0]).toEqual({ code: '01', label: '随父母工作调动' });
    const wrong = await as(stack, 'hhg.s2').post('/api/applications', {
      type: 'RESUME',
      studentNo: 'G520302201601010047',
      reasonCode: '77',
      reason: '病愈',
      effectiveDate: new Date().toISOString().slice(0, 10),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([expect.objectContaining({ path: 'reasonCode' })]);
    const right = await as(stack, 'hhg.s2').post('/api/applications', {
      type: 'RESUME',
      studentNo: 'G520302201601010047',
      reasonCode: '02',
      reason: '病愈',
      effectiveDate: new Date().toISOString().slice(0, 10),
    });
    expect(right.status).toBe(201);
    expect(right.body.reasonCode).toBe('02');
  });

  test('a bad settings file stops start-up naming the entry', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reasons-'));
    const file = path.join(dir, 'r.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        TRANSFER: [
          { code: '01', label: 'a' },
          { code: '01', label: 'b' },
        ],
      }),
    );
    expect(() => loadReasonCodes(file)).toThrow(/TRANSFER\.1\.code: 代码 01 重复/);
    fs.writeFileSync(file, JSON.stringify({ TRANSFR: [] }));
    expect(() => loadReasonCodes(file)).toThrow(/TRANSFR/);
    expect(loadReasonCodes().DECEASED.length).toBeGreaterThan(0);
  });
});

describe('officers', () => {
  test('search cases by name or 学籍号 in their county; statistics for their own county only', async () => {
    const byName = await as(stack, 'nj.edu').get(`/api/applications?q=${encodeURIComponent('小明')}`);
    expect(byName.status).toBe(200);
    expect(byName.body.items.length).toBeGreaterThan(0);
    expect(byName.body.items.every((a: { student: { name: string } }) => a.student.name.includes('小明'))).toBe(true);
    const byNo = await as(stack, 'nj.edu').get(`/api/applications?q=${LI}`);
    expect(byNo.body.items.every((a: { student: { name: string } }) => a.student.name === '李华')).toBe(true);
    const stats = await as(stack, 'hhg.edu').get('/api/stats');
    expect(stats.status).toBe(200);
    const codes = stats.body.byOrg.map((o: { org: { code: string } }) => o.org.code);
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.every((c: string) => c.startsWith('520302'))).toBe(true);
    const all = await as(stack, 'admin').get('/api/stats');
    expect(all.body.byOrg.map((o: { org: { code: string } }) => o.org.code)).toEqual(
      expect.arrayContaining(['511922', '520302']),
    );
  });
});

describe('statistics of stages decided within minutes', () => {
  test('are not rounded to zero: a stage decided in a minute is about 0.017 hours, and the workbook shows two decimals', async () => {
    const pupil = await stack.prisma.student.findFirstOrThrow({
      where: { schoolCode: '5203020002', status: 'ENROLLED', grade: { lt: 6 }, applications: { none: {} } },
    });
    const filed = await as(stack, 'hhg.s2').post('/api/applications', {
      type: 'SKIP_GRADE',
      studentNo: pupil.studentNo,
      reasonCode: '01',
      reason: '成绩优秀',
      effectiveDate: new Date().toISOString().slice(0, 10),
    });
    expect(filed.status).toBe(201);
    const id: number = filed.body.id;
    expect((await decideAs(stack, 'hhg.s2', id, 'SCHOOL')).status).toBe(200);
    const openedAt = new Date(Date.now() - 3_600_000);
    await stack.prisma.applicationStep.updateMany({
      where: { applicationId: id, stage: 'SCHOOL' },
      data: { openedAt, decidedAt: new Date(openedAt.getTime() + 60_000) },
    });
    // Written straight into the table: the statistics roll-up is rebuilt from the cases, as after any such load.
    await rebuildDerivedReadModel(stack.prisma);
    const stats = await as(stack, 'hhg.s2').get('/api/stats');
    const row = stats.body.byOrg.find((o: { org: { code: string } }) => o.org.code === '5203020002');
    expect(row.medianHours).toBeGreaterThan(0.01);
    expect(row.medianHours).toBeLessThan(0.02);
    expect(row.medianMinutes).toBe(1);
    const xlsx = await request(stack.app)
      .get('/api/stats.xlsx')
      .set('Authorization', `Bearer ${await stack.login('hhg.s2')}`)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const sheet = wb.getWorksheet('按单位')!;
    // Columns: code, name, open, overdue, median and p90 in minutes, median and p90 in hours, decided.
    const cell = sheet.getRow(2).getCell(7);
    expect(cell.value).toBeCloseTo(row.medianHours, 3);
    expect(cell.numFmt).toBe('0.00');
  });
});

describe('the audit chain in the console', () => {
  test('verifies, with its length and head hash; admins only', async () => {
    const ok = await as(stack, 'admin').get('/api/admin/audit/verify');
    expect(ok.body).toMatchObject({ ok: true, brokenAt: null, headHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(ok.body.count).toBeGreaterThan(0);
    expect((await as(stack, 'hhg.edu').get('/api/admin/audit/verify')).status).toBe(403);
  });
});
