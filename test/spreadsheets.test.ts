import ExcelJS from 'exceljs';
import request from 'supertest';
import { idCheckChar } from '../domain/id-number';
import { exportCell, unpackedSize, unpackLimit } from '../api/spreadsheet';
import { statsWorkbook } from '../api/services/stats';
import { as, SOON, startStack, ZHANG, type TestStack } from './support/stack';
import { deflatedZeros, zip } from './support/zip';

// Spreadsheets in and out: every imported cell passes the free-text rule (a refused cell is a line of the report, not
// a 500), an .xlsx is measured by what it really inflates to, and every export neutralises formula-like text.

let stack: TestStack;
let admin: string;
beforeAll(async () => {
  stack = await startStack({ worker: false });
  admin = await stack.login('admin');
});
afterAll(async () => {
  await stack?.close();
});

const upload = (what: 'students' | 'organisations', file: Buffer, name: string) =>
  request(stack.app)
    .post(`/api/admin/imports/${what}`)
    .set('Authorization', `Bearer ${admin}`)
    .attach('file', file, name);

const id = (birth: string, seq: number) => {
  const first17 = `110105${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return first17 + idCheckChar(first17);
};
const HEADER = ['姓名', '身份证号', '性别', '出生日期', '学校代码', '年级', '班级'];
const row = (name: string, idNumber: string, className = '3年级1班', typed = idNumber) => [
  name,
  typed,
  '男',
  `${idNumber.slice(6, 10)}-${idNumber.slice(10, 12)}-${idNumber.slice(12, 14)}`,
  '5119220002',
  3,
  className,
];
const csv = (rows: unknown[][]) =>
  Buffer.from([HEADER, ...rows].map((r) => r.map((c) => `"${String(c).replace(/"/g, '""')}"`).join(',')).join('\r\n'));

describe('imported cells', () => {
  test('control, C1 and bidi characters and over-long cells are lines of the report (422), nothing imported', async () => {
    const before = await stack.prisma.student.count();
    const rows = [
      row('刘子涵', id('2017-03-02', 11)),
      row('陈\u0007浩然', id('2017-03-02', 13)),
      row('王芳', id('2017-03-02', 15), '3年级\u00851班'),
      row('李\u202e华', id('2017-03-02', 17)),
      row('赵磊', id('2017-03-02', 19), '班'.repeat(300)),
      // Full-width digits and a lowercase x in the ID number are the same number (and this row is fine).
      row(
        '周敏',
        id('2017-03-02', 21),
        '3年级1班',
        id('2017-03-02', 21)
          .replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))
          .toLowerCase(),
      ),
    ];
    const res = await upload('students', csv(rows), 'pupils.csv');
    expect(res.status).toBe(422);
    expect(res.body.refused).toEqual([
      { row: 3, field: 'name', message: expect.stringContaining('控制字符') },
      { row: 4, field: 'className', message: expect.stringContaining('控制字符') },
      { row: 5, field: 'name', message: expect.stringContaining('显示方向') },
      { row: 6, field: 'className', message: '班级最多 20 个字' },
    ]);
    expect(res.body.valid).toBe(2);
    expect(await stack.prisma.student.count()).toBe(before);
  });

  test('an .xlsx whose cells carry NUL and BEL as _x0000_ escapes: a report, not a 500', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('学生');
    ws.addRow(HEADER);
    ws.addRow(row('PLACEHOLD1', id('2016-05-05', 31)));
    ws.addRow(row('孙小美', id('2016-05-05', 33), 'PLACEHOLD2'));
    // Stored, so the text can be patched in place; the escapes decode to U+0000 and U+0007 when read.
    const stored = Buffer.from(await wb.xlsx.writeBuffer({ zip: { compression: 'STORE' } } as never));
    const patched = Buffer.from(
      stored.toString('latin1').replace('PLACEHOLD1', '_x0000_ab_').replace('PLACEHOLD2', '3_x0007_ab'),
      'latin1',
    );
    const res = await upload('students', patched, 'pupils.xlsx');
    expect(res.status).toBe(422);
    expect(res.body.refused).toEqual([
      { row: 2, field: 'name', message: expect.stringContaining('控制字符') },
      { row: 3, field: 'className', message: expect.stringContaining('控制字符') },
    ]);
  });

  test('organisations: a NUL in an e-mail or a parent code is a line of the report, not a database error', async () => {
    const rows = [
      ['代码', '名称', '类型', '上级代码', '邮箱'],
      ['610102', '新城区教育局', '教育局', '', 'edu\u0000@x.cn'],
      ['6101020001', '新城区第一小学', '学校', '6101\u00000', ''],
      ['6101020002', '\u202e新城区第二小学', '学校', '610102', ''],
    ];
    const file = Buffer.from(rows.map((r) => r.join(',')).join('\n'));
    // NUL bytes make a CSV binary (415); as an .xlsx the same cells reach the checks.
    expect((await upload('organisations', file, 'orgs.csv')).status).toBe(415);
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('单位');
    for (const r of rows) ws.addRow(r.map((c) => c.replace('\u0000', 'QQQQQQQ'))); // as long as _x0000_
    const stored = Buffer.from(await wb.xlsx.writeBuffer({ zip: { compression: 'STORE' } } as never));
    const patched = Buffer.from(stored.toString('latin1').replaceAll('QQQQQQQ', '_x0000_'), 'latin1');
    const res = await upload('organisations', patched, 'orgs.xlsx');
    expect(res.status).toBe(422);
    expect(res.body.refused).toEqual([
      { row: 2, field: 'email', message: expect.stringContaining('控制字符') },
      { row: 3, field: 'parentCode', message: expect.stringContaining('控制字符') },
      { row: 4, field: 'name', message: expect.stringContaining('显示方向') },
    ]);
    expect(await stack.prisma.organisation.count({ where: { code: { startsWith: '610102' } } })).toBe(0);
  });
});

describe('the .xlsx zip-bomb guard counts what is really inflated', () => {
  const MB = 1024 * 1024;
  let bomb: Buffer;
  beforeAll(async () => {
    // 300 MB of zeros deflate to about 300 kB; the archive claims 1 kB.
    bomb = zip([{ name: 'xl/worksheets/sheet1.xml', deflated: await deflatedZeros(300 * MB), declaredSize: 1024 }]);
  });

  test('a 300 kB file claiming 1 kB that inflates to 300 MB: stopped at the limit, not inflated to the end', async () => {
    expect(bomb.length).toBeLessThan(400 * 1024);
    const limit = unpackLimit(20_000);
    const size = await unpackedSize(bomb, limit);
    expect(size.ok).toBe(false);
    expect(size).toMatchObject({ reason: 'too-large' });
    // Counting stopped within one inflate chunk (64 kB) past the limit, far below the 300 MB.
    expect(size.bytes).toBeGreaterThan(limit);
    expect(size.bytes).toBeLessThanOrEqual(limit + 64 * 1024);
    // An honest archive is measured exactly.
    const honest = zip([{ name: 'a.xml', deflated: await deflatedZeros(5 * MB), declaredSize: 5 * MB }]);
    expect(await unpackedSize(honest, limit)).toEqual({ ok: true, bytes: 5 * MB });
  });

  test('uploaded: 413 problem+json naming the file', async () => {
    const res = await upload('students', bomb, '学生名单.xlsx');
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual([
      { path: 'file', message: expect.stringContaining('“学生名单.xlsx”解压后超过 64 MB') },
    ]);
  });
});

describe('exports neutralise formula-like text', () => {
  const DANGEROUS = ['=HYPERLINK("http://evil.example","点击")', '+1+1', '-2+3', '@SUM(A1)', '\tTAB', '\rCR'];

  test('exportCell: text starting with = + - @ tab or CR gets an apostrophe; numbers and other text do not', () => {
    for (const d of DANGEROUS) expect(exportCell(d)).toBe(`'${d}`);
    expect(exportCell(-2)).toBe(-2);
    expect(exportCell('南江县教育局')).toBe('南江县教育局');
    expect(exportCell(null)).toBeNull();
  });

  test('the statistics workbook: organisation names that look like formulas are text, no cell is a formula', async () => {
    const measures = {
      open: 1,
      overdue: 0,
      medianHours: null,
      p90Hours: null,
      medianMinutes: null,
      p90Minutes: null,
      decided: 0,
    };
    const buf = await statsWorkbook({
      generatedAt: new Date().toISOString(),
      byStage: [],
      byOrg: DANGEROUS.map((name, i) => ({ org: { code: `99000${i}`, name }, ...measures })),
    });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as never);
    const names: unknown[] = [];
    wb.getWorksheet('按单位')!.eachRow((r, n) => {
      if (n > 1) names.push(r.getCell(2).value);
      r.eachCell((c) => expect(c.type).not.toBe(ExcelJS.ValueType.Formula));
    });
    // (XML keeps a carriage return as a line feed.)
    expect(names).toEqual(DANGEROUS.map((d) => `'${d}`.replace('\r', '\n')));
  });

  test('GET /api/admin/stats.xlsx with an organisation renamed to a formula', async () => {
    const filed = await as(stack, 'nj.s1').post('/api/applications', {
      type: 'TRANSFER',
      studentNo: ZHANG,
      reason: '随父母工作调动',
      effectiveDate: SOON,
    });
    expect(filed.status).toBe(201);
    await stack.prisma.organisation.update({ where: { code: '5119220001' }, data: { name: DANGEROUS[0] } });
    const res = await request(stack.app)
      .get('/api/admin/stats.xlsx')
      .set('Authorization', `Bearer ${admin}`)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as never);
    const cells: unknown[] = [];
    wb.getWorksheet('按单位')!.eachRow((r) => r.eachCell((c) => cells.push(c.value)));
    expect(cells).toContain(`'${DANGEROUS[0]}`);
    expect(cells).not.toContain(DANGEROUS[0]);
  });
});
