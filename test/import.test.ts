import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import request from 'supertest';
import { idCheckChar } from '../domain/id-number';
import { startStack, type TestStack } from './support/stack';

// Organisations and pupils from CSV and Excel: every row checked, all imported or none.

let stack: TestStack;
let adminToken: string;
beforeAll(async () => {
  stack = await startStack({ worker: false });
  adminToken = await stack.login('admin');
});
afterAll(async () => {
  await stack?.close();
});

/** A checksum-valid ID number in 北京市朝阳区 (110105), a region the demo data never uses. */
let serial = 100;
function idNumber(birth: string, gender: 'MALE' | 'FEMALE') {
  serial += 1;
  const seq = serial * 2 + (gender === 'MALE' ? 1 : 0); // the 17th digit is odd for boys
  const first17 = `110105${birth.replace(/-/g, '')}${String(seq % 1000).padStart(3, '0')}`;
  return first17 + idCheckChar(first17);
}
const badCheckChar = (id: string) => id.slice(0, 17) + (id[17] === '0' ? '1' : '0');

interface Pupil {
  name: string;
  idNumber: string;
  gender: string;
  birthDate: string;
  schoolCode: string;
  grade: string | number;
  className: string;
}
function pupil(name: string, birth: string, gender: 'MALE' | 'FEMALE', extra: Partial<Pupil> = {}): Pupil {
  return {
    name,
    idNumber: idNumber(birth, gender),
    gender: gender === 'MALE' ? '男' : '女',
    birthDate: birth,
    schoolCode: '5119220002',
    grade: 3,
    className: '3年级2班',
    ...extra,
  };
}

const CN_HEADER = ['姓名', '身份证号', '性别', '出生日期', '学校代码', '年级', '班级'];
const EN_HEADER = ['name', 'idNumber', 'gender', 'birthDate', 'schoolCode', 'grade', 'className'];
const cells = (p: Pupil) => [p.name, p.idNumber, p.gender, p.birthDate, p.schoolCode, p.grade, p.className];
const csv = (header: string[], rows: unknown[][]) =>
  [header, ...rows].map((r) => r.map((c) => `"${String(c).replace(/"/g, '""')}"`).join(',')).join('\r\n') + '\r\n';

async function xlsx(header: string[], rows: unknown[][], opts: { title?: string } = {}): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('学生名单');
  if (opts.title) ws.addRow([opts.title]);
  ws.addRow(header);
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const upload = (what: 'students' | 'organisations', file: Buffer | string, name: string, query = '', app = stack.app) =>
  request(app)
    .post(`/api/admin/imports/${what}${query}`)
    .set('Authorization', `Bearer ${adminToken}`)
    .attach('file', Buffer.isBuffer(file) ? file : Buffer.from(file, 'utf8'), name);

const present = async (ps: Pupil[]) =>
  stack.prisma.student.count({ where: { idNumber: { in: ps.map((p) => p.idNumber) } } });

describe('pupils', () => {
  test('CSV: one bad ID number refuses the whole file (422 naming row and field); fixed, every row goes in (201)', async () => {
    const ps = [
      pupil('刘子涵', '2017-03-02', 'FEMALE'),
      pupil('陈浩然', '2016-11-20', 'MALE', { grade: '四年级', className: '4年级1班' }),
      pupil('阿依古丽·买买提', '2017-06-30', 'FEMALE'),
    ];
    const bad = { ...ps[1], idNumber: badCheckChar(ps[1].idNumber) };
    const refused = await upload('students', csv(EN_HEADER, [cells(ps[0]), cells(bad), cells(ps[2])]), 'pupils.csv');
    expect(refused.status).toBe(422);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(refused.body).toMatchObject({
      status: 422,
      imported: 0,
      valid: 2,
      refused: [{ row: 3, field: 'idNumber', message: '身份证号校验码不正确，请核对是否输错' }],
    });
    expect(await present(ps)).toBe(0);

    const ok = await upload('students', csv(EN_HEADER, ps.map(cells)), 'pupils.csv');
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ imported: 3, valid: 3, refused: [], dryRun: false });
    const chen = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: `G${ps[1].idNumber}` } });
    expect(chen).toMatchObject({
      name: '陈浩然',
      gender: 'MALE',
      grade: 4,
      className: '4年级1班',
      schoolCode: '5119220002',
      status: 'ENROLLED',
    });
    expect(chen.birthDate.toISOString().slice(0, 10)).toBe('2016-11-20');
    const [event] = await stack.prisma.auditEvent.findMany({ where: { action: 'import.students' } });
    expect(event.details).toMatchObject({ rows: 3, imported: 3, format: 'csv', bySchool: { '5119220002': 3 } });
  });

  test('XLSX built with exceljs (Chinese headers under a title row): a bad ID named by row and field, then all in', async () => {
    const ps = [pupil('王梓轩', '2015-09-01', 'MALE'), pupil('李雨桐', '2015-10-10', 'FEMALE')];
    const bad = { ...ps[0], idNumber: ps[0].idNumber.slice(0, 17) };
    const title = '2026 年秋季南江县第二小学新生名单';
    const refused = await upload('students', await xlsx(CN_HEADER, [cells(bad), cells(ps[1])], { title }), 'a.xlsx');
    expect(refused.status).toBe(422);
    expect(refused.body.refused).toEqual([
      { row: 3, field: 'idNumber', message: '身份证号应为 18 位：17 位数字加 1 位校验码（数字或 X）' },
    ]);
    expect(await present(ps)).toBe(0);
    const ok = await upload('students', await xlsx(CN_HEADER, ps.map(cells), { title }), 'a.xlsx');
    expect(ok.status).toBe(201);
    expect(ok.body.imported).toBe(2);
    expect(await present(ps)).toBe(2);
  });

  test('XLSX: real date cells and numeric grades are read; an ID number stored as a number is refused with the fix', async () => {
    const p = pupil('赵子轩', '2016-02-29', 'MALE');
    const asDate = [p.name, p.idNumber, p.gender, new Date(Date.UTC(2016, 1, 29)), p.schoolCode, 2, p.className];
    const asNumber = [p.name, Number(p.idNumber.slice(0, 17)), p.gender, p.birthDate, p.schoolCode, 2, p.className];
    const numeric = await upload('students', await xlsx(CN_HEADER, [asNumber]), 'n.xlsx');
    expect(numeric.status).toBe(422);
    expect(numeric.body.refused).toEqual([{ row: 2, field: 'idNumber', message: expect.stringMatching(/文本/) }]);
    const dated = await upload('students', await xlsx(CN_HEADER, [asDate]), 'd.xlsx');
    expect(dated.status).toBe(201);
  });

  test('duplicates in the file and against the database, an unknown school, and birth date and gender against the ID', async () => {
    const a = pupil('孙悦', '2017-01-05', 'FEMALE');
    const rows = [
      cells(a),
      cells({ ...a, name: '孙月' }), // the same ID number twice
      cells(pupil('张小明', '2015-05-05', 'MALE', { idNumber: '520302201505050014' })), // already registered
      cells(pupil('周杰', '2016-04-04', 'MALE', { schoolCode: '5119229999' })),
      cells(pupil('吴敏', '2016-04-05', 'FEMALE', { schoolCode: '511922' })), // a bureau's code
      cells(pupil('郑凯', '2016-04-06', 'MALE', { gender: '女', birthDate: '2016-04-07' })),
      cells(pupil('冯 雪', '2016-04-08', 'FEMALE', { grade: '十三', className: '' })),
    ];
    const res = await upload('students', csv(CN_HEADER, rows), 'dups.csv');
    expect(res.status).toBe(422);
    expect(res.body.refused).toEqual([
      { row: 3, field: 'idNumber', message: '与第 2 行的身份证号重复' },
      {
        row: 4,
        field: 'idNumber',
        message: expect.stringMatching(/^该学生已有学籍（遵义市红花岗区第一小学，学籍号 G520302\*{8}0014）/),
      },
      { row: 5, field: 'schoolCode', message: expect.stringMatching(/没有代码为 5119229999 的学校/) },
      { row: 6, field: 'schoolCode', message: '学校代码应为 10 位数字（学校标识码）' },
      { row: 7, field: 'gender', message: '性别与身份证号不一致：按身份证号第 17 位应为男' },
      { row: 7, field: 'birthDate', message: expect.stringMatching(/出生日期与身份证号不一致/) },
      { row: 8, field: 'name', message: '姓名中不能有空格' },
      { row: 8, field: 'grade', message: expect.stringMatching(/年级/) },
      { row: 8, field: 'className', message: '请填写班级' },
    ]);
    expect(JSON.stringify(res.body)).not.toContain('520302201505050014');
    expect(await stack.prisma.student.count({ where: { idNumber: a.idNumber } })).toBe(0);
  });

  test('a GBK CSV (what Excel on Chinese Windows saves) and a UTF-8 CSV with a BOM are both read', async () => {
    const gbk = [pupil('欧阳娜娜', '2016-07-07', 'FEMALE'), pupil('诸葛明', '2016-08-08', 'MALE')];
    const gbkRes = await upload('students', iconv.encode(csv(CN_HEADER, gbk.map(cells)), 'gbk'), 'gbk.csv');
    expect(gbkRes.status).toBe(201);
    expect((await stack.prisma.student.findUniqueOrThrow({ where: { idNumber: gbk[0].idNumber } })).name).toBe(
      '欧阳娜娜',
    );
    const bom = [pupil('司马光', '2016-09-09', 'MALE')];
    const bomRes = await upload('students', '\ufeff' + csv(CN_HEADER, bom.map(cells)), 'bom.csv');
    expect(bomRes.status).toBe(201);
    expect(await present(bom)).toBe(1);
  });

  test('files sent at once: the same pupil in two goes in once, the other file refused naming her; a refused file holds up none', async () => {
    const a = pupil('何静', '2016-09-09', 'FEMALE');
    const others = [pupil('韩冬', '2016-09-10', 'MALE'), pupil('邓琳', '2016-09-11', 'FEMALE')];
    const bad = cells({ ...pupil('曹雨', '2016-09-12', 'FEMALE'), gender: '未知' });
    const answers = await Promise.all([
      upload('students', csv(EN_HEADER, [bad]), 'bad.csv'),
      upload('students', csv(EN_HEADER, [cells(a), cells(others[0])]), 'one.csv'),
      upload('students', csv(EN_HEADER, [cells(a), cells(others[1])]), 'two.csv'),
    ]);
    expect(answers[0].status).toBe(422);
    const statuses = answers.slice(1).map((r) => r.status);
    expect(statuses.sort()).toEqual([201, 422]);
    const refused = answers.slice(1).find((r) => r.status === 422)!;
    expect(refused.body.refused).toEqual([
      { row: 2, field: 'idNumber', message: expect.stringMatching(/^该学生已有学籍/) },
    ]);
    expect(await present([a])).toBe(1);
    expect(await present(others)).toBe(1); // the refused file's other pupil is not imported either
  });

  test('a dry run checks and writes nothing', async () => {
    const ps = [pupil('钱多多', '2016-10-10', 'FEMALE')];
    const auditBefore = await stack.prisma.auditEvent.count();
    const dry = await upload('students', csv(EN_HEADER, ps.map(cells)), 'p.csv', '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ imported: 0, valid: 1, refused: [], dryRun: true });
    expect(await present(ps)).toBe(0);
    const dryBad = await upload(
      'students',
      csv(EN_HEADER, [cells({ ...ps[0], gender: '未知' })]),
      'p.csv',
      '?dryRun=true',
    );
    expect(dryBad.status).toBe(422);
    expect(dryBad.body.dryRun).toBe(true);
    expect(await stack.prisma.auditEvent.count()).toBe(auditBefore);
  });

  test('files that are not tables, missing columns and limits', async () => {
    const noFile = await request(stack.app)
      .post('/api/admin/imports/students')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({});
    expect(noFile.status).toBe(400);
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(100)]);
    expect((await upload('students', xls, 'old.xls')).status).toBe(415);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    expect((await upload('students', png, 'pupils.csv')).status).toBe(415);
    const zip = Buffer.from('504b0304' + '00'.repeat(40), 'hex');
    expect((await upload('students', zip, 'x.xlsx')).status).toBe(400);
    const missing = await upload('students', csv(['姓名', '身份证号', '班级'], [['张三', '1', '1班']]), 'm.csv');
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toMatch(/缺少必需的列：学校代码（schoolCode）、年级（grade）/);
    expect((await upload('students', csv(CN_HEADER, []), 'empty.csv')).status).toBe(400);
    const few = stack.appWith({ importMaxRows: 2 });
    const ps = [1, 2, 3].map((i) => pupil('韩梅梅', `2016-01-0${i}`, 'FEMALE'));
    expect((await upload('students', csv(CN_HEADER, ps.map(cells)), 'p.csv', '', few)).status).toBe(413);
    const small = stack.appWith({ importMaxBytes: 200 });
    expect((await upload('students', csv(CN_HEADER, ps.map(cells)), 'p.csv', '', small)).status).toBe(413);
    expect(await present(ps)).toBe(0);
  });

  test('only an administrator imports (403, audited)', async () => {
    const res = await request(stack.app)
      .post('/api/admin/imports/students')
      .set('Authorization', `Bearer ${await stack.login('nj.s1')}`)
      .attach('file', Buffer.from(csv(CN_HEADER, [cells(pupil('林一', '2016-02-02', 'MALE'))])), 'p.csv');
    expect(res.status).toBe(403);
    const nj = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.s1' } });
    const denial = await stack.prisma.auditEvent.findFirst({
      where: { action: 'auth.denied', actorId: nj.id },
      orderBy: { seq: 'desc' },
    });
    expect(denial?.details).toMatchObject({ method: 'POST', path: '/api/admin/imports/students' });
  });
});

describe('organisations', () => {
  const ORG_HEADER = ['代码', '名称', '类型', '上级代码'];

  test('a new county with its schools in one file; then pupils can be imported into them', async () => {
    const file = csv(ORG_HEADER, [
      ['5119221001', '南江县第三小学', '学校', '511922'], // an existing bureau
      ['511921', '通江县教育局', '教育局', ''],
      ['5119211001', '通江县实验小学', '学校', '511921'], // a bureau of the same file
    ]);
    const res = await upload('organisations', file, 'orgs.csv');
    expect(res.status).toBe(201);
    expect(res.body.imported).toBe(3);
    expect(await stack.prisma.organisation.findUniqueOrThrow({ where: { code: '5119211001' } })).toMatchObject({
      name: '通江县实验小学',
      kind: 'SCHOOL',
      parentCode: '511921',
    });
    // 通江县 (511921) lies in 巴中市: left blank, its parent is the 地市 bureau its code's first 4 digits name.
    expect(await stack.prisma.organisation.findUniqueOrThrow({ where: { code: '511921' } })).toMatchObject({
      kind: 'COUNTY',
      parentCode: '5119',
    });
    const [event] = await stack.prisma.auditEvent.findMany({ where: { action: 'import.organisations' } });
    expect(event.details).toMatchObject({ rows: 3, imported: 3, counties: 1, schools: 2 });
    const p = pupil('何欢', '2016-05-05', 'FEMALE', { schoolCode: '5119211001' });
    expect((await upload('students', csv(CN_HEADER, [cells(p)]), 'p.csv')).status).toBe(201);
  });

  test('an .xlsx with English headers; every refusal named, nothing imported', async () => {
    const rows = [
      ['5119220001', '南江县实验小学', 'SCHOOL', '511922'], // exists
      ['5119229001', '无上级小学', 'SCHOOL', '999999'], // no such bureau
      ['5119229002', '挂在学校下的小学', '学校', '5119220002'], // parent is a school
      ['51192290', '位数不对小学', '学校', '511922'],
      ['5119229003', '', '学校', '511922'],
      ['500101', '某区教育局', '教育局', '500000'],
      ['500102', '某县', '幼儿园', ''],
      ['5119229004', '新小学', '学校', '511922'],
      ['5119229004', '新小学（重复）', '学校', '511922'],
    ];
    const res = await upload('organisations', await xlsx(['code', 'name', 'kind', 'parentCode'], rows), 'o.xlsx');
    expect(res.status).toBe(422);
    expect(res.body.refused.map((r: { row: number; field: string }) => [r.row, r.field])).toEqual([
      [2, 'code'],
      [3, 'parentCode'],
      [4, 'parentCode'],
      [5, 'code'],
      [6, 'name'],
      [7, 'parentCode'],
      [8, 'kind'],
      [10, 'code'],
    ]);
    expect(res.body.refused[0].message).toMatch(/已存在/);
    expect(res.body.refused[7].message).toBe('与第 9 行的代码重复');
    expect(await stack.prisma.organisation.count({ where: { code: { in: ['5119229004', '500101'] } } })).toBe(0);
  });
  test('省 and 地市 bureaus: imported with their counties and schools top down; a county imported first is adopted', async () => {
    // 盘龙区 (530103) before any bureau of 昆明 or 云南 exists: no parent yet.
    const first = await upload(
      'organisations',
      csv(ORG_HEADER, [['530103', '盘龙区教育局', '区县教育局', '']]),
      'a.csv',
    );
    expect(first.status).toBe(201);
    expect((await stack.prisma.organisation.findUniqueOrThrow({ where: { code: '530103' } })).parentCode).toBeNull();
    // Children before parents in the file, parents left blank or named: all linked.
    const file = csv(ORG_HEADER, [
      ['5301020001', '昆明市五华区实验小学', '学校', '530102'],
      ['530102', '五华区教育局', '区县教育局', '5301'],
      ['5301', '昆明市教育局', '地市教育局', ''],
      ['53', '云南省教育厅', '省教育厅', ''],
    ]);
    const res = await upload('organisations', file, 'yn.csv');
    expect(res.status).toBe(201);
    expect(res.body.imported).toBe(4);
    const orgs = await stack.prisma.organisation.findMany({
      where: { code: { in: ['53', '5301', '530102', '530103', '5301020001'] } },
      orderBy: { code: 'asc' },
    });
    expect(orgs.map((o) => [o.code, o.kind, o.parentCode])).toEqual([
      ['53', 'PROVINCE', null],
      ['5301', 'CITY', '53'],
      ['530102', 'COUNTY', '5301'],
      ['5301020001', 'SCHOOL', '530102'],
      ['530103', 'COUNTY', '5301'], // adopted by the 地市 bureau imported after it
    ]);
    const events = await stack.prisma.auditEvent.findMany({
      where: { action: 'import.organisations' },
      orderBy: { seq: 'desc' },
      take: 1,
    });
    expect(events[0].details).toMatchObject({ provinces: 1, cities: 1, counties: 1, schools: 1, adopted: 1 });
    // An administrator can now create the officers of these bureaus.
    for (const code of ['53', '5301']) {
      const officer = await request(stack.app)
        .post('/api/admin/users')
        .set('Authorization', `Bearer ${adminToken}`)
        .send({
          username: `yn.${code}`,
          displayName: '云南学籍科',
          role: 'COUNTY_OFFICER',
          orgCode: code,
          password: 'initial-password-1',
        });
      expect([code, officer.status]).toEqual([code, 201]);
    }
  });

  test('省 and 地市 rows: code length per kind, the parent its code names, named by row and field in Chinese', async () => {
    const rows = [
      ['540102', '拉萨市教育局', '地市教育局', ''], // a city's code is 4 digits
      ['5401', '拉萨市教育局', '地市教育局', '53'], // its parent is 54, not 53
      ['54', '西藏自治区教育厅', '省教育厅', '00'], // a province has none
      ['5401990001', '挂在地市下的小学', '学校', '5203'], // a school's parent is a county bureau
      ['540199', '某县教育局', '区县教育局', '5402'], // its 地市 bureau would be 5401
      ['5499', '某市教育局', '地市教育局', '99'], // no such province (and not its prefix)
      ['540', '位数不对', '', ''],
      ['54019', '位数不对的教育局', '区县教育局', ''],
    ];
    const res = await upload('organisations', csv(ORG_HEADER, rows), 'bad.csv');
    expect(res.status).toBe(422);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.imported).toBe(0);
    expect(
      res.body.refused.map((r: { row: number; field: string; message: string }) => [r.row, r.field, r.message]),
    ).toEqual([
      [2, 'code', '地市教育局代码应为行政区划代码的前 4 位（如 5203 遵义市）'],
      [3, 'parentCode', '地市教育局的上级应为省教育厅（代码 54，即本单位代码的前 2 位），或留空'],
      [4, 'parentCode', '省教育厅没有上级单位，请留空'],
      [5, 'parentCode', '5203（遵义市教育局）不是区县教育局'],
      [6, 'parentCode', '区县教育局的上级应为地市教育局（代码 5401，即本单位代码的前 4 位），或留空'],
      [7, 'parentCode', '地市教育局的上级应为省教育厅（代码 54，即本单位代码的前 2 位），或留空'],
      [8, 'code', '代码应为 2 位（省）、4 位（地市）、6 位（区县）或 10 位（学校）数字'],
      [8, 'kind', '请填写类型（学校、区县教育局、地市教育局 或 省教育厅）'],
      [9, 'code', '区县教育局代码应为 6 位行政区划代码（如 520302）'],
    ]);
    expect(await stack.prisma.organisation.count({ where: { code: { startsWith: '54' } } })).toBe(0);
  });
});
