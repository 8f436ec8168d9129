import type { Page } from 'playwright-core';
import request from 'supertest';
import { as, decideAs, fileTransfer, FOUR_STAGES, registerPupil, waitFor, type TestStack } from '../support/stack';
import { decodeQr, ensurePoppler } from '../support/poppler';
import { screenshots, signIn as signInTab, startConsole, type Browser, type ConsoleRig } from './support/browser';

// The administrator's and the clerk's pages that console.test.ts only passes through, in a real browser (Debian's
// Chromium) against the real stack: loading a year's holidays, the audit trail's filters and their errors, a revoked
// document on the public verification page, the registration form's errors, and a pupil's change history linking to
// the case that made it. Screenshots at 1366 and 390 px go to test-artifacts/screenshots/.

jest.setTimeout(120_000);

let rig: ConsoleRig;
let browser: Browser;
let stack: TestStack;
let base: string;

beforeAll(async () => {
  ensurePoppler();
  rig = await startConsole();
  ({ browser, stack, base } = rig);
});
afterAll(() => rig?.close());

const signIn = (username: string) => signInTab(browser, base, username);

/** Nothing wider than a phone's screen (console.test.ts checks tap targets on every page as well). */
async function noSidewaysScroll(page: Page, what: string) {
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = (await page.evaluate('document.documentElement.scrollWidth')) as number;
  expect({ page: what, scrollWidth: wide }).toEqual({ page: what, scrollWidth: 390 });
  await page.setViewportSize({ width: 1366, height: 900 });
}

/** The field's error shown next to it (the `.field` that holds the labelled control). */
const errorOf = (page: Page, label: RegExp) =>
  page.locator('.field', { has: page.getByLabel(label) }).locator('.field-error');

test('工作日历: the administrator loads 2028 and sees it listed; bad JSON is refused next to the field', async () => {
  const page = await signIn('admin');
  await page.getByRole('link', { name: '工作日历' }).click();
  await page.getByRole('heading', { name: '工作日历' }).waitFor();
  const years = page.locator('table.list tbody');
  await years.locator('tr').first().waitFor();
  expect(await years.locator('td[data-label="年份"]', { hasText: /^2028$/ }).count()).toBe(0);
  // The provisional due dates: a heading with their count, then the cases or “none”.
  const provisional = page.getByRole('heading', { name: /^暂定的办理期限（\d+ 件）$/ });
  await provisional.waitFor();

  // Not JSON: said next to the field, nothing sent.
  await page.getByLabel(/^年份/).fill('2028');
  await page.getByLabel(/^安排（JSON）/).fill('{ "holidays": [ ');
  await page.getByRole('button', { name: '载入并重算期限' }).click();
  expect(await errorOf(page, /^安排（JSON）/).textContent()).toContain('不是合法的 JSON');

  const arrangement = {
    source: '国务院办公厅关于2028年部分节假日安排的通知（测试）',
    holidays: [
      { name: '元旦', dates: ['2028-01-01'] },
      { name: '劳动节', dates: ['2028-05-01', '2028-05-02', '2028-05-03'] },
    ],
    workdays: [],
  };
  await page.getByLabel(/^安排（JSON）/).fill(JSON.stringify(arrangement, null, 2));
  await page.getByRole('button', { name: '载入并重算期限' }).click();
  await page.getByRole('status').filter({ hasText: '已载入 2028 年的节假日安排' }).waitFor();
  const row = years.locator('tr', { has: page.locator('td[data-label="年份"]', { hasText: /^2028$/ }) });
  await row.waitFor();
  expect(await row.textContent()).toContain('管理员载入');
  expect(await row.textContent()).toContain('国务院办公厅关于2028年部分节假日安排的通知（测试）');
  expect(await row.textContent()).toContain('4 天 / 0 天');
  await noSidewaysScroll(page, 'calendar');
  await screenshots(page, '50-admin-calendar-loaded', () => row.waitFor());
  // Audited.
  const events = await stack.prisma.auditEvent.findMany({ where: { action: 'calendar.load' } });
  expect(events.length).toBeGreaterThanOrEqual(1);
  await page.close();
  expect(browser.problems).toEqual([]);
});

test('审计: filtering by operator and by action narrows the list; a malformed filter is told next to its field', async () => {
  // Something to find: nj.s1 files a transfer (application.create) and logs in (auth.login) before the page loads.
  const filed = await fileTransfer(stack, 'nj.s1', 'G520302201508120022');
  expect(filed.status).toBe(201);
  const page = await signIn('admin');
  await page.getByRole('link', { name: '审计' }).click();
  await page.getByRole('heading', { name: '审计记录' }).waitFor();
  const rows = page.locator('table.list tbody tr');
  await rows.first().waitFor();
  const actions = async () => (await page.locator('td[data-label="操作"]').allTextContents()).map((s) => s.trim());
  const everything = await actions();
  expect(new Set(everything).size).toBeGreaterThan(1);

  const filters = page.getByRole('search', { name: '筛选审计记录' });
  await filters.getByLabel('操作类型').fill('application.*');
  await filters.getByRole('button', { name: '筛选' }).click();
  await waitFor(async () => {
    const shown = await actions();
    return shown.length > 0 && shown.every((a) => a.startsWith('application.'));
  });
  expect(await page.locator('td[data-label="对象"]', { hasText: `业务 ${filed.body.id}` }).count()).toBeGreaterThan(0);

  await filters.getByLabel('操作类型').fill('');
  await filters.getByLabel('操作人').fill('nj.s1');
  await filters.getByRole('button', { name: '筛选' }).click();
  // Only nj.s1's entries (name and school), fewer than before.
  const actorsShown = async () =>
    new Set((await page.locator('td[data-label="操作人"]').allTextContents()).map((s) => s.trim()));
  await waitFor(async () => (await actorsShown()).size === 1);
  expect([...(await actorsShown())][0]).toContain('5119220001');
  expect(await rows.count()).toBeLessThan(everything.length);
  await screenshots(page, '51-admin-audit-filtered', () => rows.first().waitFor());

  // A malformed action (capitals): the API's 400 names the field, and the page says it beside the field.
  await filters.getByLabel('操作人').fill('');
  await filters.getByLabel('操作类型').fill('Application.Decide');
  await filters.getByRole('button', { name: '筛选' }).click();
  const actionError = page.locator('.filter-field', { has: page.getByLabel('操作类型') }).locator('.field-error');
  await actionError.waitFor();
  expect(await actionError.textContent()).toContain('操作类型形如 application.decide');
  expect(await filters.getByLabel('操作类型').getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('.filter-field .field-error').count()).toBe(1);
  await page.locator('.error-summary', { hasText: '筛选条件有误' }).waitFor();
  await noSidewaysScroll(page, 'audit with a field error');
  await screenshots(page, '52-admin-audit-filter-error', () => actionError.waitFor());

  // Dates the wrong way round: the error sits at 截止日期.
  await filters.getByLabel('操作类型').fill('');
  await filters.getByLabel('起始日期').fill('2026-09-02');
  await filters.getByLabel('截止日期').fill('2026-09-01');
  await filters.getByRole('button', { name: '筛选' }).click();
  const toError = page.locator('.filter-field', { has: page.getByLabel('截止日期') }).locator('.field-error');
  await toError.waitFor();
  expect(await toError.textContent()).toContain('截止时间不能早于起始时间');
  expect(await actionError.count()).toBe(0);
  await page.close();
  expect(browser.problems).toEqual([]);
});

test('核验: a revoked document shows 已作废 on the public page, with no pupil named in full', async () => {
  const filed = await fileTransfer(stack, 'nj.s1', 'G520302201505050014');
  expect(filed.status).toBe(201);
  const res = await request(stack.app)
    .get(`/api/applications/${filed.body.id}/form.pdf`)
    .set('Authorization', `Bearer ${await stack.login('nj.s1')}`)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  expect(res.status).toBe(200);
  const [, ref, code] = /\/verify\/([0-9A-Z]+)#([0-9A-Z]+)$/.exec(decodeQr(res.body as Buffer)!)!;
  const revoked = await as(stack, 'admin').post(`/api/admin/documents/${ref}/revoke`, { reason: '信息有误，作废重开' });
  expect(revoked.status).toBe(200);

  const page = await browser.page();
  await page.goto(`${base}/verify/${ref}#${code}`);
  const result = page.locator('.verify-result');
  await result.waitFor();
  expect(await result.getAttribute('class')).toContain('revoked');
  expect(await result.textContent()).toContain('该文件已作废');
  expect(await result.textContent()).toContain('由系统管理员作废');
  // Dates in China time, as printed on the paper (16:00–24:00 UTC is already the next day there).
  const chinaDay = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
  expect(await result.textContent()).toContain(`该文件已于 ${chinaDay} 由系统管理员作废`);
  expect(await result.locator('dd').nth(1).textContent()).toContain(chinaDay);
  expect(await result.textContent()).not.toContain('本系统出具的有效文件');
  expect(await result.textContent()).not.toContain('张小明');
  await noSidewaysScroll(page, 'verification of a revoked document');
  await screenshots(page, '53-public-verify-revoked', () => result.waitFor());
  await page.close();
});

test('新生建籍: an empty form flags every required field; a wrong ID number is told next to it', async () => {
  const page = await signIn('hhg.s1');
  await page.goto(`${base}/pupils/new`);
  await page.getByRole('heading', { name: '新生建籍' }).waitFor();
  await page.getByRole('button', { name: '建立学籍' }).click();
  await errorOf(page, /^姓名/).waitFor();
  expect(await errorOf(page, /^姓名/).textContent()).toContain('请填写姓名');
  expect(await errorOf(page, /^性别/).textContent()).toContain('请选择性别');
  expect(await errorOf(page, /^出生日期/).textContent()).toContain('请填写出生日期');
  expect(await errorOf(page, /^身份证号/).textContent()).toContain('请填写身份证号');
  expect(await errorOf(page, /^班级/).textContent()).toContain('请填写班级');
  await noSidewaysScroll(page, 'empty registration form');
  await screenshots(page, '54-register-pupil-empty', () => errorOf(page, /^姓名/).waitFor());

  // A check character that does not fit (…1229 would): refused by the API, said at 身份证号, nothing registered.
  await page.getByLabel(/^姓名/).fill('孙错号');
  await page.getByLabel(/^性别/).selectOption('FEMALE');
  await page.getByLabel(/^出生日期/).fill('2018-06-06');
  await page.getByLabel(/^身份证号/).fill('110105201806061228');
  await page.getByLabel(/^班级/).fill('2年级1班');
  await page.getByRole('button', { name: '建立学籍' }).click();
  const idError = errorOf(page, /^身份证号/);
  await idError.filter({ hasText: '校验码不正确' }).waitFor();
  expect(await errorOf(page, /^姓名/).count()).toBe(0);
  expect(await page.getByLabel(/^身份证号/).getAttribute('aria-invalid')).toBe('true');
  await screenshots(page, '55-register-pupil-bad-id', () => idError.waitFor());
  expect(await stack.prisma.student.count({ where: { name: '孙错号' } })).toBe(0);
  await page.close();
  expect(browser.problems).toEqual([]);
});

test('a pupil moved by an approved transfer: the change history links to the case; its letter can be printed', async () => {
  const reg = await registerPupil(stack, 'hhg.s1', {
    name: '周历史',
    gender: 'FEMALE',
    birthDate: '2017-07-07',
    serial: '242',
    grade: 3,
    className: '3年级2班',
  });
  expect(reg.status).toBe(201);
  const filed = await fileTransfer(stack, 'nj.s1', reg.body.studentNo);
  expect(filed.status).toBe(201);
  const id = filed.body.id as number;
  for (const [stage, user] of FOUR_STAGES) expect((await decideAs(stack, user, id, stage)).status).toBe(200);
  await waitFor(
    async () => (await stack.prisma.application.findUnique({ where: { id } }))?.status === 'APPROVED',
    30_000,
    'the transfer to be approved',
  );

  const page = await signIn('nj.s1');
  await page.getByRole('link', { name: '学籍查询' }).click();
  await page.getByPlaceholder(/姓名（可只写一部分）/).fill('周历史');
  await page.getByRole('button', { name: '查询' }).click();
  await page.getByRole('link', { name: '周历史', exact: true }).click();
  await page.getByRole('heading', { name: '周历史 的学籍' }).waitFor();
  await page.getByRole('heading', { name: '异动记录' }).waitFor();
  const line = page.getByRole('link', { name: `转学（业务 ${id}）` });
  await line.waitFor();
  const row = page.locator('tr', { has: line });
  expect(await row.textContent()).toContain('南江县实验小学');
  await noSidewaysScroll(page, 'pupil page with history');
  await screenshots(page, '56-pupil-history', () => line.waitFor());
  await line.click();
  await page.waitForURL(`**/applications/${id}`);
  // An approved transfer that nobody reversed: both papers are offered.
  await page.getByRole('button', { name: '下载审批表（PDF）' }).waitFor();
  expect(await page.getByRole('button', { name: '下载转学联系函（PDF）' }).count()).toBe(1);
  await page.close();
  expect(browser.problems).toEqual([]);
});
