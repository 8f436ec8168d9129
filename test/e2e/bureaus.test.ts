import request from 'supertest';
import type { TestStack } from '../support/stack';
import { screenshots, signIn as signInTab, startConsole, type Browser, type ConsoleRig } from './support/browser';

// The console for the review levels above the county (issue 14): an administrator creates the officer of a 地市
// bureau in 用户, and every bureau's officer reads wording of its own level — 本县, 本市, 本省 — in a real browser
// (Debian's Chromium, headless) against the real stack, as test/e2e/console.test.ts.

jest.setTimeout(120_000);

let rig: ConsoleRig;
let browser: Browser;
let stack: TestStack;
let base: string;

beforeAll(async () => {
  rig = await startConsole({ worker: false });
  ({ browser, stack, base } = rig);
});
afterAll(() => rig?.close());

const signIn = (username: string, password?: string) => signInTab(browser, base, username, password);

test('an administrator creates the officer of a 地市 bureau in 用户; the officer then works under 本市 wording', async () => {
  const admin = await signIn('admin');
  await admin.getByRole('link', { name: '用户' }).click();
  await admin.getByRole('button', { name: '新建用户' }).click();
  const dialog = admin.getByRole('dialog');
  await dialog.getByLabel(/^用户名/).fill('zy.officer2');
  await dialog.getByLabel(/^姓名或称呼/).fill('遵义市教育局学籍科（二）');
  // A clerk is offered schools only.
  const org = dialog.getByLabel(/^所属学校/);
  await org.locator('option[value="5203020001"]').waitFor({ state: 'attached' });
  expect(await org.locator('option[value="5203"]').count()).toBe(0);
  await dialog.getByLabel(/^角色/).selectOption('COUNTY_OFFICER');
  // An officer: the bureaus of every level, grouped 省教育厅 / 地市教育局 / 区县教育局, and no school.
  const bureau = dialog.getByLabel(/^所属教育局（区县、地市或省）/);
  await bureau.locator('optgroup[label="地市教育局"] option[value="5203"]').waitFor({ state: 'attached' });
  expect(await bureau.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.getAttribute('label')))).toEqual([
    '省教育厅',
    '地市教育局',
    '区县教育局',
  ]);
  expect(await bureau.locator('optgroup[label="省教育厅"] option[value="52"]').count()).toBe(1);
  expect(await bureau.locator('option[value="5203020001"]').count()).toBe(0);
  await bureau.selectOption('5203');
  await dialog.getByLabel(/^初始密码/).fill('initial-password-1');
  await screenshots(admin, '40-admin-new-city-officer');
  await dialog.getByRole('button', { name: '新建' }).click();
  await admin.getByRole('status').filter({ hasText: '已新建用户 zy.officer2' }).waitFor();
  const row = admin.locator('tr', { has: admin.locator('td', { hasText: 'zy.officer2' }) });
  expect(await row.locator('td[data-label="单位"]').textContent()).toBe('遵义市教育局');
  expect(await row.locator('td[data-label="角色"]').textContent()).toBe('教育局人员（区县、地市、省）');
  const created = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'zy.officer2' } });
  expect(created).toMatchObject({ role: 'COUNTY_OFFICER', orgCode: '5203', mustChangePassword: true });
  await admin.close();

  // The officer replaces the administrator's password (as at any first login), then signs in to the console.
  const first = await request(base)
    .post('/api/auth/login')
    .send({ username: 'zy.officer2', password: 'initial-password-1' });
  expect(
    (
      await request(base)
        .post('/api/auth/change-password')
        .set('Authorization', `Bearer ${first.body.token}`)
        .send({ currentPassword: 'initial-password-1', newPassword: 'chosen-by-the-officer' })
    ).status,
  ).toBe(204);
  const officer = await signIn('zy.officer2', 'chosen-by-the-officer');
  await officer.getByRole('link', { name: '本市业务' }).click();
  await officer.getByRole('heading', { name: '本市业务' }).waitFor();
  expect(await officer.locator('.who small').textContent()).toBe('遵义市教育局');
  await officer.close();
  expect(browser.problems).toEqual([]);
});

test('each bureau reads its own level: 本县 for a county, 本市 for a 地市, 本省 for a 省 — no county wording above it', async () => {
  for (const [user, area] of [
    ['nj.edu', '本县'],
    ['bz.edu', '本市'],
    ['sc.edu', '本省'],
  ]) {
    const page = await signIn(user);
    const nav = page.getByRole('navigation', { name: '主菜单' });
    await nav.getByRole('link', { name: `${area}业务` }).click();
    await page.getByRole('heading', { name: `${area}业务` }).waitFor();
    await page.goto(`${base}/pupils`);
    await page.getByRole('heading', { name: '学籍查询' }).waitFor();
    expect(await page.locator('main .hint').first().textContent()).toContain(`查找${area}学校的学生`);
    await page.goto(`${base}/stats`);
    await page.getByRole('heading', { name: `${area}办理统计` }).waitFor();
    if (area !== '本县') {
      expect([user, await nav.textContent()]).toEqual([user, expect.not.stringContaining('本县')]);
      expect([user, await page.locator('main').textContent()]).toEqual([user, expect.not.stringContaining('本县')]);
      await screenshots(page, `41-${user}-stats`);
    }
    await page.close();
  }
  expect(browser.problems).toEqual([]);
});
