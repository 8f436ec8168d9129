import request from 'supertest';
import { idCheckChar, isValidStudentNo } from '../domain/id-number';
import { as, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
});

const HHG1 = '5203020001';
const HHG1_NAME = '遵义市红花岗区第一小学';

const withCheckChar = (first17: string) => first17 + idCheckChar(first17);

/** A valid ID number; region 110105 (北京朝阳), so never one of the seeded pupils'. */
let nextSeq = 100;
function newId(birthDate: string, gender: 'MALE' | 'FEMALE' = 'MALE'): string {
  let seq = nextSeq++;
  if ((seq % 2 === 1) !== (gender === 'MALE')) seq = nextSeq++;
  return withCheckChar(`110105${birthDate.replace(/-/g, '')}${String(seq).padStart(3, '0')}`);
}

/** The same number with its check character replaced by a wrong one. */
const withBadCheckChar = (id: string) => id.slice(0, 17) + (id[17] === '1' ? '2' : '1');

const pupil = (extra: Record<string, unknown> = {}) => {
  const birthDate = (extra.birthDate as string | undefined) ?? '2019-03-02';
  return {
    name: '王小红',
    gender: 'MALE',
    birthDate,
    idNumber: newId(birthDate, (extra.gender as 'MALE' | 'FEMALE' | undefined) ?? 'MALE'),
    grade: 1,
    className: '1年级2班',
    ...extra,
  };
};

/** Parents' ID numbers for a pupil without household registration. */
const parents = () => ({
  fatherIdNumber: newId('1988-04-10', 'MALE'),
  motherIdNumber: newId('1990-07-21', 'FEMALE'),
});

const register = (body: unknown, user = 'hhg.s1') => as(stack, user).post('/api/students', body);
const lookup = (schoolCode: string, name: string, user = 'nj.s1') =>
  as(stack, user).get(`/api/students?schoolCode=${schoolCode}&name=${encodeURIComponent(name)}`);
const pupilsAt = (schoolCode: string) => stack.prisma.student.count({ where: { schoolCode } });
const paths = (res: request.Response) => (res.body.errors as { path: string }[]).map((e) => e.path).sort();

describe('registering a pupil with an ID number', () => {
  test('201 with the record: studentNo is G + the ID number, the ID masked, no warnings', async () => {
    const body = pupil({ name: '陈思远' });
    const res = await register(body);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/students/G${body.idNumber}`);
    expect(res.body).toEqual({
      studentNo: `G${body.idNumber}`,
      ref: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: '陈思远',
      gender: 'MALE',
      birthDate: '2019-03-02',
      schoolCode: HHG1,
      schoolName: HHG1_NAME,
      grade: 1,
      className: '1年级2班',
      status: 'ENROLLED',
      problemFlag: false,
      idNumberMasked: `${body.idNumber.slice(0, 6)}********${body.idNumber.slice(14)}`,
      history: [],
      warnings: [],
    });
    const row = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: `G${body.idNumber}` } });
    expect(row).toMatchObject({ idNumber: body.idNumber, schoolCode: HHG1, fatherIdNumber: null });
    const read = await as(stack, 'hhg.s1').get(`/api/students/G${body.idNumber}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...res.body, warnings: undefined });
  });

  test('a lower-case x is stored as X; a minority name keeps its middle dot, typed from any keyboard', async () => {
    const id = '11010520190101018X';
    expect(idCheckChar(id.slice(0, 17))).toBe('X');
    const res = await register(
      pupil({ idNumber: id.toLowerCase(), birthDate: '2019-01-01', gender: 'FEMALE', name: '阿依古丽・买买提' }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ studentNo: `G${id}`, name: '阿依古丽·买买提', gender: 'FEMALE' });
  });

  test.each([
    ['a wrong check character', { idNumber: withBadCheckChar(newId('2019-03-02')) }, 'idNumber', '校验码'],
    [
      'an impossible birth date in the ID number (30 February)',
      { idNumber: withCheckChar('11010520190230011') },
      'idNumber',
      '出生日期',
    ],
    ['an ID number of 17 characters', { idNumber: '11010520190302011' }, 'idNumber', '18 位'],
    ['no ID number and no 无户籍', { idNumber: undefined }, 'idNumber', '身份证号'],
    ['Latin letters in the name', { name: 'Li小明' }, 'name', '英文字母'],
    ['a digit in the name', { name: '王小明2' }, 'name', '数字'],
    ['a space in the name', { name: '王 小明' }, 'name', '空格'],
    ['a one-character name', { name: '王' }, 'name', '2 至 20'],
    ['a name of 21 characters', { name: '王'.repeat(21) }, 'name', '2 至 20'],
    ['a birth date before 1990', { birthDate: '1989-12-31' }, 'birthDate', '1990'],
    ['a birth date in the future', { birthDate: '2999-01-01', idNumber: newId('2019-03-02') }, 'birthDate', '今天'],
    ['a date that does not exist', { birthDate: '2019-02-30', idNumber: newId('2019-03-02') }, 'birthDate', '有效日期'],
    ['month 13', { birthDate: '2019-13-45', idNumber: newId('2019-03-02') }, 'birthDate', '有效日期'],
    ['grade 13', { grade: 13 }, 'grade', '1 至 12'],
  ])('400 for %s, naming the field, and nothing written', async (_what, extra, path, message) => {
    const before = await pupilsAt(HHG1);
    const res = await register(pupil(extra));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual([expect.objectContaining({ path, message: expect.stringContaining(message) })]);
    expect(await pupilsAt(HHG1)).toBe(before);
  });

  test('every problem of the form is reported at once', async () => {
    const res = await register({ name: 'Li Ming', gender: 'M', birthDate: '2019-3-2', grade: 0, className: '' });
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(['birthDate', 'className', 'gender', 'grade', 'idNumber', 'name']);
    expect(res.body.detail).toContain('name');
  });

  test('control characters are refused with 400, not stored or sent to the database', async () => {
    const res = await register(pupil({ className: '1年级\u00002班' }));
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(['className']);
    const query = await as(stack, 'nj.s1').get(`/api/students?schoolCode=${HHG1}&name=%E5%88%98%00`);
    expect(query.status).toBe(400);
    expect(paths(query)).toEqual(['name']);
  });

  test('422 when the birth date or the gender disagrees with the ID number, naming each field', async () => {
    const before = await pupilsAt(HHG1);
    const idNumber = newId('2019-03-02', 'MALE');
    const date = await register(pupil({ idNumber, birthDate: '2019-03-03' }));
    expect(date.status).toBe(422);
    expect(date.body.errors).toEqual([
      { path: 'birthDate', message: expect.stringContaining('出生日期与身份证号不一致') },
    ]);
    expect(date.body.errors[0].message).toContain('2019-03-02');
    const both = await register(pupil({ idNumber, birthDate: '2019-03-03', gender: 'FEMALE' }));
    expect(both.status).toBe(422);
    expect(paths(both)).toEqual(['birthDate', 'gender']);
    expect(both.body.errors.find((e: { path: string }) => e.path === 'gender').message).toContain(
      '性别与身份证号不一致',
    );
    expect(await pupilsAt(HHG1)).toBe(before);
  });

  test('409 when the ID number is already registered (张小明, at another school), with the school and a masked number', async () => {
    const res = await register(
      pupil({ name: '张小明', idNumber: '520302201505050014', birthDate: '2015-05-05' }),
      'nj.s1',
    );
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain(`该身份证号已登记学籍：${HHG1_NAME}`);
    // Another county's pupil: no digit past the region.
    expect(res.body.detail).toContain('520302************');
    expect(JSON.stringify(res.body)).not.toContain('520302201505050014');
    expect(await stack.prisma.student.count({ where: { idNumber: '520302201505050014' } })).toBe(1);
  });

  test('of concurrent registrations of one new ID number exactly one succeeds; the others get 409', async () => {
    const body = pupil({ name: '周子墨' });
    const users = ['hhg.s1', 'hhg.s2', 'nj.s1', 'nj.s2', 'hhg.s1', 'hhg.s2'];
    // Log in first so the requests really race.
    await Promise.all(users.map((u) => stack.login(u)));
    const results = await Promise.all(users.map((u) => register(body, u)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.detail).toContain('该身份证号已登记学籍');
    expect(await stack.prisma.student.count({ where: { idNumber: body.idNumber } })).toBe(1);
  });

  test('a possible duplicate — same school, same birth date, a near-match name — is registered with a warning', async () => {
    const first = await register(pupil({ name: '刘子涵', birthDate: '2018-06-01' }));
    expect(first.status).toBe(201);
    const second = await register(pupil({ name: '刘梓含', birthDate: '2018-06-01' }));
    expect(second.status).toBe(201);
    expect(second.body.warnings).toEqual([
      {
        code: 'POSSIBLE_DUPLICATE',
        name: '刘子涵',
        studentNo: `G${first.body.studentNo.slice(1, 7)}********${first.body.studentNo.slice(-4)}`,
        message: expect.stringContaining('出生日期相同、姓名相近'),
      },
    ]);
    // Another birth date, or another school: no warning.
    expect((await register(pupil({ name: '刘子含', birthDate: '2018-06-02' }))).body.warnings).toEqual([]);
    expect((await register(pupil({ name: '刘子含', birthDate: '2018-06-01' }), 'hhg.s2')).body.warnings).toEqual([]);
  });
});

describe('registering a pupil without household registration (无户籍)', () => {
  const noHukou = (extra: Record<string, unknown> = {}) =>
    pupil({ idNumber: undefined, noHouseholdRegistration: true, name: '林小雨', ...extra });

  test('400 without both parents’ or a guardian’s ID numbers, naming the missing fields; nothing written', async () => {
    const before = await pupilsAt(HHG1);
    const none = await register(noHukou());
    expect(none.status).toBe(400);
    expect(paths(none)).toEqual(['fatherIdNumber', 'guardianIdNumber', 'motherIdNumber']);
    expect(none.body.errors[0].message).toContain('父母双方');
    const fatherOnly = await register(noHukou({ fatherIdNumber: parents().fatherIdNumber }));
    expect(fatherOnly.status).toBe(400);
    expect(paths(fatherOnly)).toEqual(['guardianIdNumber', 'motherIdNumber']);
    const badFather = await register(noHukou({ ...parents(), fatherIdNumber: withBadCheckChar(newId('1988-04-10')) }));
    expect(badFather.status).toBe(400);
    expect(badFather.body.errors).toEqual([
      { path: 'fatherIdNumber', message: '父亲身份证号校验码不正确，请核对是否输错' },
    ]);
    const withId = await register(noHukou({ ...parents(), idNumber: newId('2019-03-02') }));
    expect(withId.status).toBe(400);
    expect(paths(withId)).toEqual(['idNumber']);
    expect(await pupilsAt(HHG1)).toBe(before);
  });

  test('201 with both parents: a temporary number L + school code + 8 digits, counting up', async () => {
    const family = parents();
    const res = await register(noHukou(family));
    expect(res.status).toBe(201);
    expect(res.body.studentNo).toMatch(/^L5203020001\d{8}$/);
    expect(isValidStudentNo(res.body.studentNo)).toBe(true);
    expect(res.body.idNumberMasked).toBeNull();
    const row = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: res.body.studentNo } });
    expect(row).toMatchObject({ idNumber: null, ...family, guardianIdNumber: null });

    const guardianOnly = await register(noHukou({ name: '林小雪', guardianIdNumber: newId('1960-01-01') }));
    expect(guardianOnly.status).toBe(201);
    expect(Number(guardianOnly.body.studentNo.slice(-8))).toBe(Number(res.body.studentNo.slice(-8)) + 1);
    expect((await as(stack, 'hhg.s1').get(`/api/students/${res.body.studentNo}`)).status).toBe(200);
  });

  test('temporary numbers registered at the same moment are all different', async () => {
    await stack.login('hhg.s2');
    const results = await Promise.all(
      ['林一', '林二', '林三', '林四'].map((name) => register(noHukou({ name, ...parents() }), 'hhg.s2')),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const numbers = results.map((r) => r.body.studentNo as string);
    expect(new Set(numbers).size).toBe(4);
    for (const n of numbers) expect(n).toMatch(/^L5203020002\d{8}$/);
  });

  test('the same parents and birth date registered twice gives a warning (twins are possible)', async () => {
    const family = parents();
    expect((await register(noHukou({ name: '马明', birthDate: '2017-09-09', ...family }))).status).toBe(201);
    const twin = await register(noHukou({ name: '马亮', birthDate: '2017-09-09', ...family }), 'hhg.s2');
    expect(twin.status).toBe(201);
    expect(twin.body.warnings).toEqual([
      expect.objectContaining({
        code: 'POSSIBLE_DUPLICATE',
        name: '马明',
        message: expect.stringContaining(HHG1_NAME),
      }),
    ]);
  });
});

describe('who may register', () => {
  test('only a school clerk, and only at her own school (403); nothing written', async () => {
    const before = await stack.prisma.student.count();
    for (const user of ['hhg.edu', 'admin']) {
      const res = await register(pupil({ name: '赵一鸣' }), user);
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect((await register(pupil({ name: '赵一鸣', schoolCode: '5119220001' }))).status).toBe(403);
    expect((await request(stack.app).post('/api/students').send(pupil())).status).toBe(401);
    expect(await stack.prisma.student.count()).toBe(before);
  });
});

describe('looking a pupil up with a mistyped name', () => {
  test('a look-alike character (凇 for 淞): no items, the pupil in suggestions masked to the region (another county), a hint', async () => {
    const created = await register(pupil({ name: '刘子淞', birthDate: '2016-10-10' }));
    expect(created.status).toBe(201);
    const idNumber = created.body.studentNo.slice(1);

    const res = await lookup(HHG1, '刘子凇');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
    expect(res.body.suggestions).toContainEqual({
      studentNo: `G${idNumber.slice(0, 6)}************`,
      name: '刘子淞',
      gender: 'MALE',
      birthDate: null,
      schoolCode: HHG1,
      schoolName: HHG1_NAME,
      grade: 1,
      status: 'ENROLLED',
      idNumberMasked: `${idNumber.slice(0, 6)}************`,
      openCase: null,
      reversedChange: null,
      match: 'LOOK_ALIKE',
    });
    expect(res.body.hint).toBe(
      '没有找到“刘子凇”。您要找的是否是：刘子淞（凇→淞，形近字）？（常见原因：形近字或同音字输入错误）',
    );
    expect(JSON.stringify(res.body)).not.toContain(idNumber);

    // The exact name finds the pupil as before, without suggestions.
    const exact = await lookup(HHG1, '刘子淞');
    expect(Object.keys(exact.body)).toEqual(['items']);
    expect(exact.body.items).toHaveLength(1);
  });

  test('a same-sound surname and given name (陳 for 陈, 宇 for 雨), two characters apart', async () => {
    expect((await register(pupil({ name: '陈雨轩', birthDate: '2016-01-15' }))).status).toBe(201);
    const res = await lookup(HHG1, '陳宇轩');
    expect(res.body.items).toEqual([]);
    expect(res.body.suggestions.map((p: { name: string }) => p.name)).toContain('陈雨轩');
    expect(res.body.hint).toContain('陳→陈，繁简字；宇→雨，同音字');
    // A character that neither looks nor sounds alike makes it another name.
    expect((await lookup(HHG1, '陳宇明')).body.suggestions.map((p: { name: string }) => p.name)).not.toContain(
      '陈雨轩',
    );
  });

  test('a long name with a same-sound character is found among the names of its length', async () => {
    const name = '欧阳嘉欣怡琪涵轩晨宇浩婷';
    const typo = '欧阳嘉昕怡琪涵轩晨宇浩婷';
    expect((await register(pupil({ name, birthDate: '2016-02-02', gender: 'FEMALE' }))).status).toBe(201);
    const res = await lookup(HHG1, typo);
    expect(res.body.suggestions.map((p: { name: string }) => p.name)).toEqual([name]);
  });

  test('nothing close: empty suggestions and a hint of what else to check; an unknown school stays 404', async () => {
    const res = await lookup(HHG1, '司马相如');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], suggestions: [], hint: expect.stringContaining('没有姓名相近的学生') });
    expect((await lookup('9999999999', '刘子凇')).status).toBe(404);
  });

  test('the OpenAPI document describes registration and the suggestions', async () => {
    const doc = await request(stack.app).get('/api/openapi.json');
    expect(doc.body.paths['/api/students'].post.responses['409']).toBeDefined();
    expect(doc.body.components.schemas.RegisterStudentBody.properties.noHouseholdRegistration).toBeDefined();
    expect(Object.keys(doc.body.components.schemas.StudentLookupResult.properties)).toEqual([
      'items',
      'suggestions',
      'hint',
    ]);
    expect(doc.body.components.schemas.RegisteredStudent.properties.warnings).toBeDefined();
  });
});
