import { idCheckChar } from '../domain/id-number';
import { as, decideAs, fileTransfer, LI, startStack, ZHANG, type TestStack } from './support/stack';

// DESIGN §5 "Reach" through the API: who sees a pupil's identity, and who loses it when a case ends.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const lookup = (user: string, name: string, school = '5203020001') =>
  as(stack, user).get(`/api/students?schoolCode=${school}&name=${encodeURIComponent(name)}`);
const record = (user: string, studentNo: string) => as(stack, user).get(`/api/students/${studentNo}`);
/** The answer without its random request id (which could hold any four hex digits). */
const shown = (res: { body: unknown }) => JSON.stringify({ ...(res.body as object), requestId: undefined });

/** Nothing past the region: not the birth date (as digits or as a date), not the sequence or check character. */
function expectRegionOnly(res: { body: unknown }, idNumber: string) {
  const text = shown(res);
  const birth = idNumber.slice(6, 14);
  expect(text).not.toContain(birth);
  expect(text).not.toContain(`${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6)}`);
  expect(text).not.toContain(idNumber.slice(14));
}

test('outside reach: the lookup shows the region only and no birth date; the record is 404, as for a number that does not exist', async () => {
  const id = ZHANG.slice(1);
  for (const user of ['nj.s1', 'nj.edu', 'hhg.s2']) {
    const res = await lookup(user, '张小明');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      expect.objectContaining({
        studentNo: 'G520302************',
        birthDate: null,
        idNumberMasked: '520302************',
      }),
    ]);
    expectRegionOnly(res, id);
    const read = await record(user, ZHANG);
    expect(read.status).toBe(404);
    const unknown = await record(user, `G52030220150505003${idCheckChar('52030220150505003')}`);
    expect({ status: read.status, detail: read.body.detail.replace(/G\d{6}\*+/, '') }).toEqual({
      status: unknown.status,
      detail: unknown.body.detail.replace(/G\d{6}\*+/, ''),
    });
    expectRegionOnly(read, id);
  }
  // Within reach (the pupil's school, its bureau, an administrator): as always.
  for (const user of ['hhg.s1', 'hhg.edu', 'admin']) {
    const res = await lookup(user, '张小明');
    expect(res.body.items).toEqual([
      expect.objectContaining({
        studentNo: 'G520302********0014',
        birthDate: '2015-05-05',
        idNumberMasked: '520302********0014',
      }),
    ]);
    expect((await record(user, ZHANG)).status).toBe(200);
  }
});

test('a party to an open case reaches the pupil; withdrawing ends it, in the record, the case and the lists', async () => {
  // A clerk typed the ID number into the reason too: within reach it is shown as written, outside masked.
  const reason = `随父母工作调动（身份证号 ${ZHANG.slice(1)}）`;
  const filed = await fileTransfer(stack, 'nj.s1', ZHANG, { reason });
  expect(filed.status).toBe(201);
  const id = filed.body.id as number;
  expect(filed.body.student.studentNo).toBe(ZHANG); // the applicant, a party: whole in the case
  expect(filed.body.reason).toBe(reason);
  expect((await record('nj.s1', ZHANG)).status).toBe(200);
  expect((await lookup('nj.s1', '张小明')).body.items[0]).toMatchObject({ birthDate: '2015-05-05' });

  // 南江县教育局 sees its school's case before its own stage is reached, but not the pupil's identity.
  const early = await as(stack, 'nj.edu').get(`/api/applications/${id}`);
  expect(early.status).toBe(200);
  expect(early.body.student.studentNo).toBe('G520302************');
  expect((await record('nj.edu', ZHANG)).status).toBe(404);
  // Once its stage is reached it is a party.
  expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
  expect((await as(stack, 'nj.edu').get(`/api/applications/${id}`)).body.student.studentNo).toBe(ZHANG);
  const list = await as(stack, 'nj.edu').get('/api/applications');
  expect(list.body.items.find((a: { id: number }) => a.id === id).student.studentNo).toBe('G520302********0014');
  const tasks = await as(stack, 'nj.edu').get('/api/tasks');
  expect(tasks.body.items.find((a: { id: number }) => a.id === id).student.studentNo).toBe('G520302********0014');

  const withdrawn = await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' });
  expect(withdrawn.status).toBe(200);
  expect(withdrawn.body.student.studentNo).toBe('G520302************');
  for (const user of ['nj.s1', 'nj.edu']) {
    expect((await record(user, ZHANG)).status).toBe(404);
    const again = await as(stack, user).get(`/api/applications/${id}`);
    expect(again.status).toBe(200); // the case stays theirs to read …
    expect(again.body.student.studentNo).toBe('G520302************'); // … the pupil's identity does not
    expect(again.body.reason).toBe('随父母工作调动（身份证号 520302************）');
    const mine = await as(stack, user).get('/api/applications');
    expect(mine.body.items.find((a: { id: number }) => a.id === id).student.studentNo).toBe('G520302************');
    expect((await lookup(user, '张小明')).body.items[0]).toMatchObject({ birthDate: null });
  }
});

test('after an approved transfer the sending school and its bureau keep the pupil for 30 days, then lose it', async () => {
  const filed = await fileTransfer(stack, 'nj.s1', LI);
  const id = filed.body.id as number;
  for (const [user, stage] of [
    ['nj.s1', 'RECEIVING_SCHOOL'],
    ['nj.edu', 'RECEIVING_COUNTY'],
    ['hhg.s1', 'SENDING_SCHOOL'],
    ['hhg.edu', 'SENDING_COUNTY'],
  ] as const) {
    expect((await decideAs(stack, user, id, stage)).status).toBe(200);
  }
  // 李华 is now at 南江县实验小学.
  for (const user of ['nj.s1', 'nj.edu', 'hhg.s1', 'hhg.edu']) expect((await record(user, LI)).status).toBe(200);
  expect((await record('hhg.s2', LI)).status).toBe(404);
  // 31 days later.
  await stack.prisma.application.update({ where: { id }, data: { closedAt: new Date(Date.now() - 31 * 86_400_000) } });
  for (const user of ['hhg.s1', 'hhg.edu']) {
    expect((await record(user, LI)).status).toBe(404);
    const old = await as(stack, user).get(`/api/applications/${id}`);
    expect(old.body.student.studentNo).toBe('G520302************');
  }
  for (const user of ['nj.s1', 'nj.edu']) expect((await record(user, LI)).status).toBe(200);
});
