import { as, decideAs, ZHANG, type TestStack } from '../support/stack';
import { screenshots, signIn as signInTab, startConsole, type Browser, type ConsoleRig } from './support/browser';

// Guardian self-service and the predicted completion in a real browser (issue 14 items 4 and 5): the clerk files a
// transfer and gets the family's receipt with the query code; the case page shows the prediction; the family opens
// the receipt's link on a phone, with no login, and sees where the case is; the stuck view shows the prediction.

jest.setTimeout(120_000);

/** The transfer filed in the first test, and the family's receipt. */
let filed: { id: number; ref: string; code: string };

let rig: ConsoleRig;
let browser: Browser;
let stack: TestStack;
let base: string;

beforeAll(async () => {
  rig = await startConsole();
  ({ browser, stack, base } = rig);
});
afterAll(() => rig?.close());

const signIn = (username: string) => signInTab(browser, base, username);

/** Runs in the page (the server's tsconfig has no DOM types). */
const visibility = (el: unknown) =>
  (globalThis as unknown as { getComputedStyle(e: unknown): { visibility: string } }).getComputedStyle(el).visibility;

test('filed by the clerk, followed by the family on a phone, predicted in the case page and the stuck view', async () => {
  // 1. 南江县实验小学 files a transfer for 张小明: the receipt with the query code is on the case page, once.
  const clerk = await signIn('nj.s1');
  await clerk.getByRole('link', { name: '新建申请' }).click();
  await clerk.getByLabel('或输入学校代码、名称查找').fill('5203020001');
  const school = clerk.getByLabel(/^转出学校/);
  await school.locator('option[value="5203020001"]').waitFor({ state: 'attached' });
  await school.selectOption('5203020001');
  await clerk.getByLabel('学生姓名').fill('张小明');
  await clerk.getByRole('button', { name: '查找' }).click();
  // One pupil of that name: picked at once.
  await clerk.locator('.picked', { hasText: '张小明' }).waitFor();
  await clerk.getByLabel('异动原因').selectOption('01');
  await clerk.getByLabel('原因说明').fill('父亲调往南江县工作');
  await clerk.getByLabel('全国学籍号').fill(ZHANG);
  await clerk.getByRole('button', { name: '保存申请' }).click();
  await clerk.waitForURL(/\/applications\/\d+$/);
  const id = Number(/\/applications\/(\d+)/.exec(clerk.url())![1]);
  const receipt = clerk.locator('.receipt-panel');
  await receipt.waitFor();
  const ref = (await receipt.locator('dd.mono').nth(0).textContent())!.trim();
  const code = (await receipt.locator('dd.mono').nth(1).textContent())!.trim();
  filed = { id, ref, code };
  expect(ref).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}$/);
  await receipt.getByRole('img', { name: '查询页二维码' }).waitFor();
  // The day it was filed, in China time (16:00–24:00 UTC is already the next day there).
  expect(await receipt.textContent()).toContain(
    `受理，${new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10)}）`,
  );
  await clerk.locator('.prediction', { hasText: '预计办结' }).waitFor();
  await screenshots(clerk, '40-clerk-receipt-and-prediction');
  // Printed, the page is the receipt alone.
  await clerk.emulateMedia({ media: 'print' });
  expect(await receipt.locator('.receipt').evaluate(visibility)).toBe('visible');
  expect(await clerk.locator('.case-grid').evaluate(visibility)).toBe('hidden');
  await clerk.emulateMedia({ media: 'screen' });
  await receipt.getByRole('button', { name: /已交给家长/ }).click();
  await receipt.waitFor({ state: 'detached' });
  // Gone for good: a reload does not show the code again.
  await clerk.reload();
  await clerk.locator('.prediction').waitFor();
  expect(await clerk.locator('.receipt-panel').count()).toBe(0);
  expect(await clerk.content()).not.toContain(code);
  await clerk.getByRole('button', { name: /学校审核通过，上报/ }).click();
  await clerk.getByRole('dialog').getByRole('button', { name: '确认同意' }).click();
  await clerk.locator('.case-head .where', { hasText: '转入县教育局审核' }).waitFor();
  await clerk.close();

  // 2. The family, on a phone, from the receipt's link: no login, the code taken out of the address bar.
  const family = await browser.page();
  await family.setViewportSize({ width: 390, height: 844 });
  await family.goto(`${base}/progress/${ref.replace('-', '')}#${code.replace(/-/g, '')}`);
  const result = family.locator('.progress');
  await result.waitFor();
  const text = (await result.textContent())!;
  expect(text).toContain('正在审核');
  expect(text).toContain('南江县教育局');
  expect(text).toContain('预计办结');
  expect(text).not.toContain('张');
  expect(text).not.toContain('父亲调往');
  expect(family.url()).not.toContain(code.replace(/-/g, ''));
  // Made for a phone: nothing wider than the screen, every field and button at least 44 px high.
  const wide = (await family.evaluate('document.documentElement.scrollWidth')) as number;
  expect(wide).toBeLessThanOrEqual(390);
  for (const el of await family.locator('input, button').all()) {
    expect((await el.boundingBox())!.height).toBeGreaterThanOrEqual(43.5);
  }
  await screenshots(family, '41-family-progress');
  // A wrong code, typed by hand: the one answer for every wrong input.
  await family.getByLabel(/^查询码/).fill('AAAA-AAAA-AA');
  await family.getByRole('button', { name: '查询' }).click();
  await family.locator('.error-summary', { hasText: '没有找到与此编号和查询码相符的案件' }).waitFor();
  await family.close();

  // 3. The administrator's stuck view lists its predicted completion.
  expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(200);
  const admin = await signIn('admin');
  await admin.goto(`${base}/admin/stuck`);
  const row = admin.locator('tr', { hasText: String(id) });
  await row.locator('td[data-label="预计办结"]', { hasText: '八成把握' }).waitFor();
  await screenshots(admin, '42-admin-stuck-prediction');
  await admin.close();
  expect(browser.problems).toEqual([]);
});

test("a transfer reversed (纠错): the family reads it on its page, the clerk at the pupil's lookup", async () => {
  // The transfer of the first test is approved, then reversed by the school that filed it, through its own chain.
  const chain = [
    ['hhg.s1', 'SENDING_SCHOOL'],
    ['hhg.edu', 'SENDING_COUNTY'],
  ] as const;
  for (const [user, stage] of chain) expect((await decideAs(stack, user, filed.id, stage)).status).toBe(200);
  const reversal = await as(stack, 'nj.s1').post(`/api/applications/${filed.id}/reversal`, {
    reason: '录入错误，学生实际未转学',
  });
  expect(reversal.status).toBe(201);
  for (const [user, stage] of [
    ['nj.s1', 'RECEIVING_SCHOOL'],
    ['nj.edu', 'RECEIVING_COUNTY'],
    ['hhg.s1', 'SENDING_SCHOOL'],
    ['hhg.edu', 'SENDING_COUNTY'],
  ] as const) {
    expect((await decideAs(stack, user, reversal.body.id, stage)).status).toBe(200);
  }
  const reversalRef: string = reversal.body.guardianAccess.ref;

  // The family's page of the transfer says it was reversed, and under which reference — nothing else.
  const family = await browser.page();
  await family.setViewportSize({ width: 390, height: 844 });
  await family.goto(`${base}/progress/${filed.ref.replace('-', '')}#${filed.code.replace(/-/g, '')}`);
  const note = family.locator('.progress .reversal-note');
  await note.waitFor();
  const said = (await note.textContent())!;
  expect(said).toContain('已纠错');
  expect(said).toContain(reversalRef);
  const text = (await family.locator('.progress').textContent())!;
  expect(text).toContain('此后经纠错已撤销');
  expect(text).not.toContain('张');
  expect(text).not.toContain('录入错误');
  expect((await family.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(390);
  await screenshots(family, '43-family-progress-reversed');
  // The reversal's own receipt opens a page of its own, naming the change it undid.
  const access = reversal.body.guardianAccess as { url: string };
  await family.goto(`${base}${new URL(access.url).pathname}${new URL(access.url).hash}`);
  await family.locator('.progress h2', { hasText: '纠错（转学）' }).waitFor();
  expect((await family.locator('.progress .reversal-note').textContent())!).toContain(filed.ref);
  await family.close();

  // The sending school looks the pupil up: the list and the pupil's page say the transfer was reversed.
  const clerk = await signIn('hhg.s1');
  await clerk.goto(`${base}/pupils`);
  await clerk.getByPlaceholder('姓名（可只写一部分）或完整学籍号').fill('张小明');
  await clerk.getByRole('button', { name: '查询' }).click();
  await clerk.locator('td', { hasText: `已纠错（最近一次转学，业务 ${filed.id}` }).waitFor();
  await clerk.getByRole('link', { name: '张小明' }).click();
  const banner = clerk.locator('.reversed-change');
  await banner.waitFor();
  expect((await banner.textContent())!).toContain(`纠错业务 ${reversal.body.id}`);
  await banner.getByRole('link', { name: `打开纠错业务 ${reversal.body.id}` }).click();
  await clerk.waitForURL(new RegExp(`/applications/${reversal.body.id}$`));
  await screenshots(clerk, '44-clerk-reversal-case');
  await clerk.close();
  expect(browser.problems).toEqual([]);
});
