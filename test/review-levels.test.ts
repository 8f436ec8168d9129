// Issue 14 item 2 (part): review levels above the county, as settings. With the example settings
// (settings/review-levels.example.json) a transfer between two provinces passes both cities' and both provinces'
// bureaus, receiving side first; with the default settings nothing changes; the chain is fixed when the case is filed.
import path from 'node:path';
import { levelsFor, NO_REVIEW_LEVELS, scopeOf } from '../domain/review-levels';
import { loadReviewLevels } from '../infra/review-levels';
import fs from 'node:fs';
import request from 'supertest';
import { buildApp } from '../api/app';
import { DEFAULT_RULES } from '../domain/rules';
import {
  as,
  decideAs,
  fileTransfer,
  LI,
  logger,
  SOON,
  startStack,
  WANG,
  ZHANG,
  ZHAO,
  type TestStack,
} from './support/stack';

/** Another API on the same database, Temporal and key, with the default settings (no review level). */
const plainApp = (s: TestStack) =>
  buildApp({
    prisma: s.prisma,
    temporal: s.temporal,
    tokens: s.tokens,
    logger,
    rules: DEFAULT_RULES,
    reviewLevels: NO_REVIEW_LEVELS,
    config: {
      TEMPORAL_TASK_QUEUE: s.taskQueue,
      UPDATE_TIMEOUT_MS: 15_000,
      attachmentsDir: path.join(process.env.TEST_WORK_DIR!, 'attachments-plain'),
    },
  });

const EXAMPLE = loadReviewLevels(path.resolve(__dirname, '..', 'settings', 'review-levels.example.json'));

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ reviewLevels: EXAMPLE });
});
afterAll(async () => {
  await stack?.close();
});

test('which levels each side adds: the example settings per scope; the default adds none', () => {
  expect(scopeOf('520302', '520302')).toBeNull();
  expect(scopeOf('520302', '520303')).toBe('sameCity');
  expect(scopeOf('520302', '520102')).toBe('sameProvince');
  expect(scopeOf('520302', '511922')).toBe('twoProvinces');
  expect(levelsFor(EXAMPLE, 'TRANSFER', '520302', '520303')).toEqual({ receiving: [], sending: [] });
  expect(levelsFor(EXAMPLE, 'TRANSFER', '520302', '520102')).toEqual({ receiving: ['CITY'], sending: ['CITY'] });
  expect(levelsFor(EXAMPLE, 'TRANSFER', '520302', '511922')).toEqual({
    receiving: ['CITY', 'PROVINCE'],
    sending: ['CITY', 'PROVINCE'],
  });
  // Each side by its own province's settings.
  const onlySichuan = { provinces: { '51': { TRANSFER: { twoProvinces: ['PROVINCE' as const] } } } };
  expect(levelsFor(onlySichuan, 'TRANSFER', '520302', '511922')).toEqual({ receiving: ['PROVINCE'], sending: [] });
  expect(levelsFor(onlySichuan, 'TRANSFER', '511922', '520302')).toEqual({ receiving: [], sending: ['PROVINCE'] });
  expect(levelsFor(NO_REVIEW_LEVELS, 'TRANSFER', '520302', '511922')).toEqual({ receiving: [], sending: [] });
});

test('a bad settings file stops start-up naming the entry', () => {
  const file = (content: unknown) => {
    const f = path.join(process.env.TEST_WORK_DIR!, `review-levels-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify(content));
    return f;
  };
  expect(() =>
    loadReviewLevels(file({ provinces: { '52': { TRANSFER: { twoProvinces: ['CITY', 'COUNTRY'] } } } })),
  ).toThrow(/provinces\.52\.TRANSFER\.twoProvinces\.1: /);
  expect(() => loadReviewLevels(file({ provinces: { '52': { SUSPEND: { sameCity: ['CITY'] } } } }))).toThrow(
    /provinces\.52\.SUSPEND: 只有转学可以增加地市、省审核层级/,
  );
  expect(() => loadReviewLevels(file({ provinces: { '52': { MOVE: {} } } }))).toThrow(
    /provinces\.52\.MOVE: 没有异动类型 MOVE/,
  );
  expect(() => loadReviewLevels(file({ provinces: { '5203': {} } }))).toThrow(/provinces\.5203: /);
  expect(loadReviewLevels(path.resolve(__dirname, '..', 'settings', 'review-levels.json'))).toEqual(NO_REVIEW_LEVELS);
});

test('红花岗区 → 南江县 with the example settings: eight stages, receiving side first, each bureau decides its own', async () => {
  const created = await fileTransfer(stack, 'nj.s1', ZHANG);
  expect(created.status).toBe(201);
  const id = created.body.id;
  const order = [
    ['RECEIVING_SCHOOL', '5119220001', 'nj.s1'],
    ['RECEIVING_COUNTY', '511922', 'nj.edu'],
    ['RECEIVING_CITY', '5119', 'bz.edu'],
    ['RECEIVING_PROVINCE', '51', 'sc.edu'],
    ['SENDING_SCHOOL', '5203020001', 'hhg.s1'],
    ['SENDING_COUNTY', '520302', 'hhg.edu'],
    ['SENDING_CITY', '5203', 'zy.edu'],
    ['SENDING_PROVINCE', '52', 'gz.edu'],
  ];
  expect(created.body.steps.map((s: { stage: string; org: { code: string } }) => [s.stage, s.org.code])).toEqual(
    order.map(([stage, org]) => [stage, org]),
  );
  // A 地市 or 省 bureau reads the cases of its area as a county bureau does its schools': filed by a school under it,
  // the case is in its list at once (巴中市, 四川); the sending side's bureaus see it only once the case reaches a
  // school of their area (404, as a sending school), and never a case of another area.
  const sees = async (user: string) => {
    const one = (await as(stack, user).get(`/api/applications/${id}`)).status;
    const list = await as(stack, user).get('/api/applications');
    expect(list.status).toBe(200);
    const listed = (list.body.items as { id: number }[]).some((a) => a.id === id);
    expect([user, listed]).toEqual([user, one === 200]);
    return one === 200;
  };
  expect(await sees('bz.edu')).toBe(true);
  expect(await sees('sc.edu')).toBe(true);
  expect(await sees('zy.edu')).toBe(false);
  expect(await sees('gz.edu')).toBe(false);

  // The settings change (back to the default: no level) while the case is open: the case keeps the chain it was filed
  // with and goes on through all eight stages; a case filed now gets the four of the national system.
  const plain = request(plainApp(stack));
  const decide = async (user: string, stage: string) =>
    plain
      .post(`/api/applications/${id}/decisions`)
      .set('Authorization', `Bearer ${await stack.login(user)}`)
      .send({ stage, decision: 'APPROVE' });
  for (const [i, [stage, , user]] of order.entries()) {
    const res = i < 4 ? await decideAs(stack, user, id, stage) : await decide(user, stage);
    expect([stage, res.status]).toEqual([stage, 200]);
    expect(res.body.currentStage).toBe(order[i + 1]?.[0] ?? null);
    // The sending side's bureaus see it once it reaches 红花岗区第一小学, before their own stages.
    if (stage === 'RECEIVING_PROVINCE') for (const u of ['zy.edu', 'gz.edu']) expect(await sees(u)).toBe(true);
  }
  const later = await plain
    .post('/api/applications')
    .set('Authorization', `Bearer ${await stack.login('nj.s1')}`)
    .send({ type: 'TRANSFER', studentNo: LI, reason: '随父母工作调动', effectiveDate: SOON });
  expect(later.status).toBe(201);
  expect(later.body.steps.map((s: { stage: string }) => s.stage)).toEqual([
    'RECEIVING_SCHOOL',
    'RECEIVING_COUNTY',
    'SENDING_SCHOOL',
    'SENDING_COUNTY',
  ]);
  const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
  expect(pupil.schoolCode).toBe('5119220001');
  const history = await stack.prisma.studentHistory.findUniqueOrThrow({ where: { applicationId: id } });
  expect(history.approvedBy).toEqual([
    '南江县实验小学',
    '南江县教育局',
    '巴中市教育局',
    '四川省教育厅',
    '遵义市红花岗区第一小学',
    '红花岗区教育局',
    '遵义市教育局',
    '贵州省教育厅',
  ]);
});

test("a 地市 or 省 bureau reaches the pupils of its area's schools and reads its area's statistics, no other area's", async () => {
  const record = async (user: string, studentNo: string) =>
    (await as(stack, user).get(`/api/students/${studentNo}`)).status;
  for (const [user, own, other] of [
    ['bz.edu', WANG, ZHAO],
    ['sc.edu', WANG, ZHAO],
    ['zy.edu', ZHAO, WANG],
    ['gz.edu', ZHAO, WANG],
  ]) {
    expect([user, await record(user, own), await record(user, other)]).toEqual([user, 200, 404]);
  }
  const found = await as(stack, 'bz.edu').get(`/api/pupils?q=${encodeURIComponent('王芳')}`);
  expect(found.status).toBe(200);
  expect(found.body.items).toHaveLength(1);
  expect((await as(stack, 'zy.edu').get(`/api/pupils?q=${encodeURIComponent('王芳')}`)).body.items).toHaveLength(0);
  // The statistics count the case filed in the test above (in 巴中市 and, from its sending side, in 贵州).
  for (const [user, prefix] of [
    ['bz.edu', '5119'],
    ['gz.edu', '52'],
  ]) {
    const stats = await as(stack, user).get('/api/stats');
    expect(stats.status).toBe(200);
    const codes = (stats.body.byOrg as { org: { code: string } }[]).map((o) => o.org.code);
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) expect([user, code.startsWith(prefix)]).toEqual([user, true]);
  }
});
