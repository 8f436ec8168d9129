import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { forgetCachedSessions } from '../../api/auth';
import { buildOpenApiDocument } from '../../api/openapi';
import { DEFAULT_DEADLINE_POLICY } from '../../domain/deadlines';
import { idCheckChar } from '../../domain/id-number';
import { decideAs, fileTransfer, LI, registerPupil, startStack, WANG, ZHANG, type TestStack } from '../support/stack';
import { decodeQr, ensurePoppler, pdfText } from '../support/poppler';
import {
  closeServer,
  ensureConsoleBuilt,
  launchBrowser,
  listen,
  ROOT,
  screenshot,
  screenshots,
  signIn as signInTab,
  type Browser,
} from './support/browser';

// The web console in a real browser (Debian's Chromium, headless) against the real stack: the API
// process serves the built console (web/dist) on a real port, Temporal and Postgres as in every other
// test. Each user works in a tab of their own (sessionStorage: a login per tab). Screenshots of the main
// pages go to test-artifacts/screenshots/.

jest.setTimeout(120_000);

interface Running {
  stack: TestStack;
  server: Server;
  base: string;
}

const serve = async (stack: TestStack): Promise<Running> => ({ stack, ...(await listen(stack.app)) });

const stop = async (r: Running | undefined) => {
  if (!r) return;
  await closeServer(r.server);
  await r.stack.close();
};

let browser: Browser;
let main: Running;

beforeAll(async () => {
  ensureConsoleBuilt();
  ensurePoppler();
  [browser, main] = await Promise.all([launchBrowser(), startStack().then(serve)]);
});
afterAll(async () => {
  await browser?.close();
  await stop(main);
});

const signIn = (base: string, username: string) => signInTab(browser, base, username);

/** The sending school, found as a clerk would among thousands: 省 → 市 → 县 (from its code), then the school. */
async function pickSchool(page: Page, code: string) {
  await page.getByLabel('省', { exact: true }).selectOption(`${code.slice(0, 2)}0000`);
  await page.getByLabel('市', { exact: true }).selectOption(`${code.slice(0, 4)}00`);
  await page.getByLabel('县（区）').selectOption(code.slice(0, 6));
  const school = page.getByLabel(/^转出学校/);
  await school.locator(`option[value="${code}"]`).waitFor({ state: 'attached' });
  await school.selectOption(code);
}

const caseIdOf = (page: Page) => Number(/\/applications\/(\d+)/.exec(page.url())?.[1]);

/** Opens a case from the user's 待办 list by its id. */
async function openFromTasks(page: Page, base: string, id: number) {
  await page.goto(`${base}/tasks`);
  await page.getByRole('heading', { name: '待办业务' }).waitFor();
  await page
    .locator('tr', { hasText: String(id) })
    .getByRole('link')
    .first()
    .click();
  await page.waitForURL(`**/applications/${id}`);
}

const where = (page: Page) => page.locator('.case-head .where');

async function waitForWhere(page: Page, text: string) {
  await page.locator('.case-head .where', { hasText: text }).waitFor();
}

test('the API process serves the console: SPA fallback, its own CSP, API paths still problem+json', async () => {
  const index = await request(main.server).get('/applications/42').expect(200);
  expect(index.type).toBe('text/html');
  expect(index.text).toContain('<div id="root">');
  // No inline script: every <script> has a src on our origin, which the CSP's script-src 'self' allows.
  expect(index.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  const csp = index.headers['content-security-policy'];
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)![1];
  const js = await request(main.server).get(asset).expect(200);
  expect(js.headers['cache-control']).toContain('immutable');
  const unknown = await request(main.server).get('/api/no-such-thing').expect(404);
  expect(unknown.type).toBe('application/problem+json');
});

test('the client types are generated from the current API document', () => {
  const generated = path.join(ROOT, 'web', 'src', 'generated', 'openapi.json');
  expect(JSON.parse(fs.readFileSync(generated, 'utf8'))).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
});

test('a transfer through every stage by five users: filed with a look-alike name and proof, approved in turn, seen by the administrator', async () => {
  const { base } = main;
  // 1. 南江县实验小学 files: finds 张小明 at 遵义市红花岗区第一小学 after typing a homophone (鸣 for 明).
  const njS1 = await signIn(base, 'nj.s1');
  await njS1.getByRole('heading', { name: '待办业务' }).waitFor();
  await screenshots(njS1, '01-clerk-tasks-empty');
  await njS1.getByRole('link', { name: '新建申请' }).click();
  await njS1.getByRole('heading', { name: '新建异动申请' }).waitFor();
  await pickSchool(njS1, '5203020001');
  await njS1.getByLabel('学生姓名').fill('张小鸣');
  await njS1.getByRole('button', { name: '查找' }).click();
  const suggestion = njS1.getByRole('button', { name: /是 张小明 吗/ });
  await suggestion.waitFor();
  expect(await njS1.locator('.lookup').textContent()).toContain('没有找到');
  await screenshots(njS1, '02-clerk-lookup-suggestion');
  await suggestion.click();
  await njS1.locator('.picked', { hasText: '张小明' }).waitFor();
  // The full 学籍号 comes from the family's papers; a wrong one (it fits the masked G520302************) is caught
  // by the API's match check, next to the field.
  await njS1.getByLabel('异动原因').selectOption('01');
  await njS1.getByLabel('原因说明').fill('父亲调往南江县工作');
  // (A real, valid number of another child: only the API knows it is not 张小明's.)
  await njS1.getByLabel('全国学籍号').fill(`G52030220150505009${idCheckChar('52030220150505009')}`);
  await njS1.getByRole('button', { name: '保存申请' }).click();
  await njS1.locator('.field-error', { hasText: '学籍号与所选学生不符' }).waitFor();
  await njS1.getByLabel('全国学籍号').fill(ZHANG);
  await njS1.getByLabel(/证明材料/).setInputFiles({ name: '转学证明.png', mimeType: 'image/png', buffer: PNG });
  await screenshots(njS1, '03-clerk-new-application');
  await njS1.getByRole('button', { name: '保存申请' }).click();
  await njS1.waitForURL(/\/applications\/\d+$/);
  const id = caseIdOf(njS1);
  await njS1.getByRole('button', { name: '转学证明.png' }).waitFor();
  await waitForWhere(njS1, '转入学校审核');
  // 学校审核: the receiving school sends it upward.
  await njS1.getByRole('button', { name: /学校审核通过，上报/ }).click();
  await njS1.getByRole('dialog').getByRole('button', { name: '确认同意' }).click();
  await waitForWhere(njS1, '南江县教育局 · 转入县教育局审核');
  await screenshots(njS1, '04-clerk-case-sent-up');

  // 2–4. Each holder opens it from 待办 and approves from the keyboard: A opens the dialog, Enter confirms.
  for (const [user, next] of [
    ['nj.edu', '遵义市红花岗区第一小学 · 转出学校审核'],
    ['hhg.s1', '红花岗区教育局 · 转出县教育局审核'],
    ['hhg.edu', '已办结'],
  ] as const) {
    const page = await signIn(base, user);
    if (user === 'nj.edu') {
      // 待办 shows each case's predicted completion (预计办结): the p50 date, and the p80 date below it.
      await page.goto(`${base}/tasks`);
      await page
        .locator('tr', { hasText: String(id) })
        .locator('td[data-label="预计办结"]')
        .filter({ hasText: /^\d{4}-\d{2}-\d{2}八成把握 \d{4}-\d{2}-\d{2} 前/ })
        .waitFor();
      await screenshots(page, '05-officer-tasks');
    }
    await openFromTasks(page, base, id);
    await page.locator('.timeline').waitFor();
    if (user === 'nj.edu') await screenshots(page, '06-officer-case');
    await page.keyboard.press('a');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/审核意见/).waitFor();
    expect(await dialog.getByLabel(/审核意见/).evaluate((el) => el.matches(':focus'))).toBe(true);
    await page.keyboard.type('同意');
    await page.keyboard.press('Enter');
    await waitForWhere(page, next);
    await page.close();
  }
  expect(await where(njS1).count()).toBe(1);

  // 5. The administrator: the whole chain on the case page, the workflow in the Temporal UI, statistics.
  const admin = await signIn(base, 'admin');
  await admin.getByRole('heading', { name: '在办与超期业务' }).waitFor();
  await admin.goto(`${base}/applications/${id}`);
  await waitForWhere(admin, '已办结');
  const timeline = admin.locator('.timeline');
  for (const org of ['南江县实验小学', '南江县教育局', '遵义市红花岗区第一小学', '红花岗区教育局']) {
    await timeline.locator('.step-approve', { hasText: org }).waitFor();
  }
  expect(await timeline.locator('.step-approve').count()).toBe(4);
  expect(await timeline.textContent()).toContain('审批通过，学籍已变更');
  const temporal = admin.getByRole('link', { name: '在 Temporal UI 中查看流程' });
  expect(await temporal.getAttribute('href')).toBe(
    `http://localhost:8233/namespaces/default/workflows/application-${id}`,
  );
  await screenshots(admin, '07-admin-case-timeline');
  const pupil = await main.stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
  expect(pupil.schoolCode).toBe('5119220001');

  await admin.getByRole('link', { name: '统计' }).click();
  await admin.locator('figure.chart svg').first().waitFor();
  await screenshots(admin, '08-admin-stats');
  await admin.getByRole('link', { name: '用户' }).click();
  await admin.locator('td', { hasText: 'hhg.s1' }).waitFor();
  await screenshots(admin, '09-admin-users');
  await admin.close();
  await njS1.close();
  expect(browser.problems).toEqual([]);
});

test('a case returned with a reason is corrected and resubmitted; field errors sit next to their fields', async () => {
  const { base } = main;
  const njS1 = await signIn(base, 'nj.s1');
  await njS1.getByRole('link', { name: '新建申请' }).click();
  await njS1.getByLabel('异动类型').selectOption('STUDY_ABROAD');
  await njS1.getByLabel('学生姓名').fill('王芳');
  await njS1.getByRole('button', { name: '查找' }).click();
  await njS1.locator('.picked', { hasText: '王芳' }).waitFor();
  await njS1.getByLabel('全国学籍号').fill(WANG);
  await njS1.getByLabel('异动原因').selectOption('01');
  await njS1.getByLabel('原因说明').fill('随父母出国');
  await njS1.getByLabel('前往国家或地区').fill('新家坡');
  // A date the API refuses: its problem+json names effectiveDate, and the message appears under that field.
  const tooLate = new Date(Date.now() + 400 * 86_400_000).toISOString().slice(0, 10);
  await njS1.getByLabel('异动日期').fill(tooLate);
  await njS1.getByRole('button', { name: '保存申请' }).click();
  const dateError = njS1.locator('.field', { has: njS1.getByLabel('异动日期') }).locator('.field-error');
  await dateError.waitFor();
  expect(await dateError.textContent()).toContain('异动日期应在今天前后一年之内');
  expect(await njS1.getByLabel('异动日期').evaluate((el) => el.matches(':focus'))).toBe(true);
  await screenshots(njS1, '10-clerk-field-error');

  // The login runs out while the clerk corrects the form (as after REFRESH_TOKEN_TTL): saving gets 401, the
  // refresh is refused, a sign-in dialog opens over the page, and after signing in again nothing is lost.
  const clerk = await main.stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.s1' } });
  await main.stack.prisma.session.updateMany({
    where: { userId: clerk.id },
    data: { expiresAt: new Date(Date.now() - 1000) },
  });
  // Time passing is faked in the database: the API's few-second cache of the session is told, as it would be.
  forgetCachedSessions();
  await njS1.getByLabel('异动日期').fill(new Date().toISOString().slice(0, 10));
  await njS1.getByRole('button', { name: '保存申请' }).click();
  const relogin = njS1.getByRole('dialog', { name: '登录已过期，请重新登录' });
  await relogin.getByLabel(/^密码/).fill('demo-password');
  await screenshots(njS1, '11-clerk-session-expired');
  await relogin.getByRole('button', { name: '登录', exact: true }).click();
  await relogin.waitFor({ state: 'hidden' });
  expect(await njS1.getByLabel('前往国家或地区').inputValue()).toBe('新家坡');
  expect(await njS1.getByLabel('全国学籍号').inputValue()).toBe(WANG);
  await njS1.getByRole('button', { name: '保存申请' }).click();
  await njS1.waitForURL(/\/applications\/\d+$/);
  const id = caseIdOf(njS1);
  await njS1.getByRole('button', { name: /学校审核通过，上报/ }).click();
  await njS1.getByRole('dialog').getByRole('button', { name: '确认同意' }).click();
  await waitForWhere(njS1, '南江县教育局 · 县教育局审核');

  // The bureau returns it: T opens the dialog; without a reason it is refused next to the field.
  const njEdu = await signIn(base, 'nj.edu');
  await openFromTasks(njEdu, base, id);
  await njEdu.locator('.timeline').waitFor();
  await njEdu.keyboard.press('t');
  const dialog = njEdu.getByRole('dialog');
  await dialog.getByRole('button', { name: '确认退回' }).click();
  await dialog.locator('.field-error', { hasText: '退回时必须填写理由' }).waitFor();
  await dialog.getByLabel(/理由/).fill('国家名称有误，请更正');
  await screenshots(njEdu, '12-officer-return-dialog');
  await njEdu.keyboard.press('Control+Enter');
  await waitForWhere(njEdu, '退回 南江县实验小学 修改');
  await njEdu.close();

  // The school sees it in 待办 as returned, reads the reason, corrects and resubmits.
  await njS1.goto(`${base}/tasks`);
  await njS1.locator('.tile', { hasText: '件被退回待修改' }).waitFor();
  await openFromTasks(njS1, base, id);
  const panel = njS1.getByRole('region', { name: '被退回，请修改后重新提交' });
  await panel.getByText('国家名称有误，请更正').waitFor();
  await screenshots(njS1, '13-clerk-returned-case');
  await panel.getByLabel('前往国家或地区').fill('新加坡');
  await panel.getByRole('button', { name: '重新提交' }).click();
  await waitForWhere(njS1, '南江县实验小学 · 学校审核');
  const timeline = njS1.locator('.timeline');
  await timeline.getByText('第 1 轮（已退回）').waitFor();
  await timeline.locator('.step-return', { hasText: '国家名称有误，请更正' }).waitFor();
  await screenshots(njS1, '14-clerk-resubmitted-timeline');
  const saved = await main.stack.prisma.application.findUniqueOrThrow({ where: { id } });
  expect(saved).toMatchObject({ status: 'IN_REVIEW', round: 2, details: { destination: '新加坡' } });

  // On a tablet the same page is one column and still usable.
  await njS1.setViewportSize({ width: 768, height: 1024 });
  await screenshot(njS1, '15-tablet-case');
  await njS1.close();
  expect(browser.problems).toEqual([]);
});

// Runs in the page (the server's tsconfig has no DOM types, so it is a string).
const PHONE_CHECK = `(() => {
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push('page is ' + document.documentElement.scrollWidth + ' px wide in a ' + window.innerWidth + ' px window');
  }
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary, [role="tab"]')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue; // not shown
    if (el.classList.contains('skip-link')) continue; // off screen until focused
    // WCAG 2.5.8: a link inside a sentence is exempt (its line height is the text's).
    if (el.tagName === 'A' && el.parentElement && el.parentElement.tagName === 'P' && el.parentElement.textContent !== el.textContent) continue;
    // A checkbox is tapped through its label.
    const label = el.matches('input[type="checkbox"], input[type="radio"]') ? el.closest('label') : null;
    const target = label ? label.getBoundingClientRect() : box;
    if (target.height < 43.5 || target.width < 43.5) {
      const name = (el.textContent || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 20);
      problems.push(el.tagName.toLowerCase() + ' "' + name + '" is ' + Math.round(target.width) + 'x' + Math.round(target.height) + ' px');
    }
  }
  return problems;
})()`;

/** At a phone's width: nothing wider than the screen, and every tap target at least 44 × 44 px. */
async function checkPhoneLayout(page: Page, what: string) {
  const found = (await page.evaluate(PHONE_CHECK)) as string[];
  expect({ page: what, problems: found }).toEqual({ page: what, problems: [] });
}

describe('beside the national system', () => {
  let transferId: number;
  beforeAll(async () => {
    // 南江县实验小学 files a transfer for 李华 (遵义市红花岗区第一小学) and sends it up: an open case to see everywhere.
    const filed = await fileTransfer(main.stack, 'nj.s1', LI);
    expect(filed.status).toBe(201);
    transferId = filed.body.id;
    expect((await decideAs(main.stack, 'nj.s1', transferId, 'RECEIVING_SCHOOL')).status).toBe(200);
  });

  test('a wrong password says so, with the attempts left before the lock', async () => {
    const page = await browser.page();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${main.base}/`);
    await page.getByLabel(/^用户名/).fill('hhg.s2');
    await page.getByLabel(/^密码/).fill('not-my-password');
    await page.getByRole('button', { name: '登录' }).click();
    const alert = page.locator('.error-summary');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('用户名或密码不正确。再输错 4 次，该账号将被锁定 15 分钟');
    expect(await alert.textContent()).not.toContain('登录已过期');
    await checkPhoneLayout(page, 'login');
    await screenshots(page, '20-login-wrong-password');
    await page.close();
  });

  test('filing on a phone: the empty form flags school and name, 李化 finds 李华, the open case is told, long reasons are counted', async () => {
    const page = await signIn(main.base, 'nj.s2');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: '菜单' }).click();
    await page.getByRole('link', { name: '新建申请' }).click();
    await page.getByRole('heading', { name: '新建异动申请' }).waitFor();
    await page.getByRole('button', { name: '保存申请' }).click();
    const errorOf = (label: RegExp) => page.locator('.field', { has: page.getByLabel(label) }).locator('.field-error');
    expect(await errorOf(/^转出学校/).textContent()).toContain('请选择学生现在就读的学校');
    expect(await errorOf(/^学生姓名/).textContent()).toContain('请填写学生姓名');
    expect(await errorOf(/^全国学籍号/).textContent()).toContain('请填写学籍号');
    await screenshots(page, '21-clerk-empty-form');
    // The school by its code, typed into the search.
    await page.getByLabel('或输入学校代码、名称查找').fill('5203020001');
    const school = page.getByLabel(/^转出学校/);
    await school.locator('option[value="5203020001"]').waitFor({ state: 'attached' });
    await school.selectOption('5203020001');
    await page.getByLabel('学生姓名').fill('李化');
    await page.getByRole('button', { name: '查找' }).click();
    const suggestion = page.getByRole('button', { name: /是 李华 吗/ });
    await suggestion.waitFor();
    expect(await suggestion.textContent()).toContain('音近字');
    // 李华 has a case open: said at once, without where he is going (南江县第二小学 is no party to it).
    expect(await suggestion.textContent()).toContain('在办（转学，审核中）');
    expect(await page.locator('.lookup').textContent()).not.toContain('南江县实验小学');
    await checkPhoneLayout(page, 'new application with suggestions');
    await screenshots(page, '22-clerk-lookup-lihua');
    await suggestion.click();
    await page.locator('.picked.warn', { hasText: '办结或撤销前不能再申请' }).waitFor();
    // 501 characters: nothing is cut, the counter turns red and saving is refused next to the field.
    await page.getByLabel('原因说明').fill('因'.repeat(501));
    await page.locator('.counter.over', { hasText: '501 / 500 字' }).waitFor();
    await page.getByRole('button', { name: '保存申请' }).click();
    expect(await errorOf(/^原因说明/).textContent()).toContain('原因说明最多 500 个字，现为 501 个字');
    expect((await page.getByLabel('原因说明').inputValue()).length).toBe(501);
    await screenshots(page, '23-clerk-new-application');
    await page.close();
  });

  test('学籍查询: search within reach, the pupil page with history and cases, and 新生建籍', async () => {
    const page = await signIn(main.base, 'hhg.s1');
    await page.getByRole('link', { name: '学籍查询' }).click();
    await page.getByPlaceholder(/姓名（可只写一部分）/).fill('李');
    await page.getByRole('button', { name: '查询' }).click();
    const row = page.locator('tr', { has: page.getByRole('link', { name: '李华', exact: true }) });
    await row.waitFor();
    expect(await row.textContent()).toContain('G520302********0022');
    expect(await row.textContent()).toContain('在办（转学，审核中）');
    await screenshots(page, '24-pupils-search', () => row.waitFor());
    await page.setViewportSize({ width: 1366, height: 900 });
    await row.getByRole('link', { name: '李华', exact: true }).click();
    await page.getByRole('heading', { name: '李华 的学籍' }).waitFor();
    expect(await page.locator('.facts').textContent()).toContain(LI);
    await page.getByRole('heading', { name: '业务' }).waitFor();
    for (const width of [360, 390, 414]) {
      await page.setViewportSize({ width, height: 800 });
      await checkPhoneLayout(page, `pupil page at ${width} px`);
    }
    await screenshots(page, '25-pupil-page');
    await page.setViewportSize({ width: 1366, height: 900 });

    await page.goto(`${main.base}/pupils/new`);
    await page.getByLabel(/^姓名/).fill('赵玥堃');
    await page.getByLabel(/^性别/).selectOption('FEMALE');
    await page.getByLabel(/^出生日期/).fill('2018-06-06');
    await page.getByLabel(/^身份证号/).fill('110105201806061229');
    await page.getByLabel(/^年级/).selectOption('2');
    await page.getByLabel(/^班级/).fill('2年级1班');
    await screenshots(page, '26-register-pupil');
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.getByRole('button', { name: '建立学籍' }).click();
    const error = page.locator('.field-error, .error-summary').first();
    const done = page.getByText('已为 赵玥堃 建立学籍');
    await Promise.race([done.waitFor(), error.waitFor()]);
    expect(await done.count()).toBe(1);
    await page.getByRole('link', { name: '查看学籍' }).click();
    await page.getByRole('heading', { name: '赵玥堃 的学籍' }).waitFor();
    await page.close();
  });

  test('a county officer on a phone: searches 本县业务, moves with J, reads the county statistics, approves', async () => {
    const page = await signIn(main.base, 'nj.edu');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${main.base}/applications`);
    await page.getByPlaceholder('学生姓名或完整学籍号').fill('李华');
    await page.getByRole('button', { name: '查找' }).click();
    const link = page.getByRole('link', { name: '转学 · 李华' });
    await link.waitFor();
    expect(await page.locator('a.case-link').count()).toBe(1);
    await page.locator('h1').click();
    await page.keyboard.press('j');
    expect(await link.evaluate((el) => el.matches(':focus'))).toBe(true);
    await checkPhoneLayout(page, '本县业务 (cards)');
    await screenshots(page, '27-officer-cases', () => link.waitFor());
    await page.setViewportSize({ width: 390, height: 844 });
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/applications/${transferId}`);
    await page.locator('.timeline').waitFor();
    await checkPhoneLayout(page, 'case page');
    await page.keyboard.press('a');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/审核意见/).waitFor();
    await checkPhoneLayout(page, 'decision dialog');
    await screenshots(page, '28-officer-decision-dialog');
    await page.keyboard.type('同意');
    await page.keyboard.press('Enter');
    await waitForWhere(page, '遵义市红花岗区第一小学 · 转出学校审核');
    await page.goto(`${main.base}/stats`);
    await page.getByRole('heading', { name: '本县办理统计' }).waitFor();
    await page.locator('figure.chart svg').first().waitFor();
    expect(await page.locator('main').textContent()).not.toContain('红花岗区教育局');
    await checkPhoneLayout(page, 'county statistics');
    await screenshots(page, '29-officer-stats', () => page.locator('figure.chart svg').first().waitFor());
    await page.close();
  });

  test('an administrator unlocks an account, verifies the audit chain, sees the calendar, overrides a stage, prints and revokes', async () => {
    // nj.s2 locked by five wrong passwords.
    for (let i = 0; i < 5; i++) {
      await request(main.server)
        .post('/api/auth/login')
        .send({ username: 'nj.s2', password: `wrong-${i}` });
    }
    const admin = await signIn(main.base, 'admin');
    await admin.getByRole('link', { name: '用户' }).click();
    const row = admin.locator('tr', { has: admin.locator('td', { hasText: 'nj.s2' }) });
    await row.getByRole('button', { name: '解除锁定' }).waitFor();
    await screenshots(admin, '30-admin-users-locked', () => row.waitFor());
    await admin.setViewportSize({ width: 1366, height: 900 });
    await row.getByRole('button', { name: '解除锁定' }).click();
    await admin.getByRole('status').filter({ hasText: '已解除 nj.s2 的登录锁定' }).waitFor();
    await row.getByRole('button', { name: '解除锁定' }).waitFor({ state: 'detached' });
    expect(
      (await request(main.server).post('/api/auth/login').send({ username: 'nj.s2', password: 'demo-password' }))
        .status,
    ).toBe(200);

    await admin.getByRole('link', { name: '审计' }).click();
    await admin.getByRole('button', { name: '校验审计链' }).click();
    const verified = admin.locator('.notice', { hasText: '审计链完整' });
    await verified.waitFor();
    expect(await verified.locator('code.hash').textContent()).toMatch(/^[0-9a-f]{64}$/);
    await admin.locator('td', { hasText: 'user.unlock' }).first().waitFor();
    await screenshots(admin, '31-admin-audit', () => verified.waitFor());
    await admin.setViewportSize({ width: 1366, height: 900 });

    await admin.getByRole('link', { name: '工作日历' }).click();
    await admin.locator('td', { hasText: '2026' }).first().waitFor();
    await screenshots(admin, '32-admin-calendar');
    await admin.setViewportSize({ width: 1366, height: 900 });

    // The stuck view names the pupil; the case is overridden with a reason (the sending school's account is locked).
    await admin.getByRole('link', { name: '在办与超期' }).click();
    await admin.getByRole('link', { name: '转学 · 李华' }).click();
    await admin.getByRole('button', { name: '代为审核' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel(/代为审核的原因/).fill('学校账号被锁定，已电话确认同意');
    await screenshots(admin, '33-admin-override');
    await dialog.getByRole('button', { name: '确认代为审核' }).click();
    await waitForWhere(admin, '红花岗区教育局 · 转出县教育局审核');
    const audit = await main.stack.prisma.auditEvent.findMany({
      where: { applicationId: transferId, action: 'application.override' },
    });
    expect(audit).toHaveLength(1);

    // Print the 审批表: a PDF whose text names the pupil; it is listed, and the administrator revokes it.
    const download = admin.waitForEvent('download');
    await admin.getByRole('button', { name: '下载审批表（PDF）' }).click();
    const file = await (await download).path();
    const text = pdfText(fs.readFileSync(file!));
    expect(text).toContain('李华');
    expect(text).toContain('学生学籍异动审批表');
    const issued = admin.getByRole('list', { name: '已出具的文件' }).locator('li').first();
    await issued.waitFor();
    await issued.getByRole('button', { name: '作废' }).click();
    await admin
      .getByRole('dialog')
      .getByLabel(/作废原因/)
      .fill('打印测试，作废');
    await admin.getByRole('dialog').getByRole('button', { name: '确认作废' }).click();
    await issued.locator('.late', { hasText: '已作废' }).waitFor();
    await screenshots(admin, '34-admin-case-documents', () => issued.waitFor());
    await admin.close();
    expect(browser.problems).toEqual([]);
  });

  test('the public verification page: opened from the QR code, no login; a wrong code is refused', async () => {
    const res = await request(main.server)
      .get(`/api/applications/${transferId}/form.pdf`)
      .set('Authorization', `Bearer ${await main.stack.login('nj.s1')}`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    const url = decodeQr(res.body as Buffer)!;
    const [, ref, code] = /\/verify\/([0-9A-Z]+)#([0-9A-Z]+)$/.exec(url)!;
    const page = await browser.page();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${main.base}/verify/${ref}#${code}`);
    const result = page.locator('.verify-result');
    await result.waitFor();
    expect(await result.textContent()).toContain('本系统出具的有效文件');
    expect(await result.textContent()).toContain('李*');
    expect(await result.textContent()).not.toContain('李华');
    // The code left the address bar once it was read.
    expect(page.url()).not.toContain(code);
    await checkPhoneLayout(page, 'public verification');
    await screenshots(page, '35-public-verify', () => result.waitFor());
    await page.getByLabel(/^核验码/).fill('AAAA-AAAA-AA');
    await page.getByRole('button', { name: '核验' }).click();
    await page.locator('.error-summary', { hasText: '没有找到与此编号和核验码相符的文件' }).waitFor();
    await page.close();
  });

  test('no page scrolls sideways at 360, 390 and 414 px, and every tap target is at least 44 px', async () => {
    const pages: [string, string[]][] = [
      [
        'nj.s1',
        ['/tasks', '/applications', '/applications/new', '/pupils?q=王', `/applications/${transferId}`, '/password'],
      ],
      ['hhg.edu', ['/tasks', '/applications', '/stats', `/applications/${transferId}`]],
      [
        'admin',
        [
          '/admin/stuck',
          '/stats',
          '/applications',
          '/admin/users',
          '/admin/audit',
          '/admin/calendar',
          '/admin/imports',
          `/applications/${transferId}`,
        ],
      ],
    ];
    for (const [user, paths] of pages) {
      const page = await signIn(main.base, user);
      for (const p of paths) {
        await page.goto(`${main.base}${p}`);
        await page.locator('main h1').first().waitFor();
        await page.locator('.loading').waitFor({ state: 'detached' });
        for (const width of [360, 390, 414]) {
          await page.setViewportSize({ width, height: 800 });
          await checkPhoneLayout(page, `${user} ${p} at ${width} px`);
        }
        // The menu opened on a phone.
        await page.getByRole('button', { name: '菜单' }).click();
        await checkPhoneLayout(page, `${user} ${p} with the menu open`);
        // The holder's decision dialogs at every width (the case waits at 红花岗区教育局 by now).
        if (user === 'hhg.edu' && p.startsWith('/applications/')) {
          for (const [key, label] of [
            ['a', /审核意见/],
            ['t', /理由/],
            ['b', /理由/],
          ] as const) {
            await page.locator('main h1').first().click();
            await page.keyboard.press(key);
            await page.getByRole('dialog').getByLabel(label).waitFor();
            for (const width of [360, 390, 414]) {
              await page.setViewportSize({ width, height: 800 });
              await checkPhoneLayout(page, `${user} ${p} dialog ${key} at ${width} px`);
            }
            await page.keyboard.press('Escape');
            await page.getByRole('dialog').waitFor({ state: 'hidden' });
          }
        }
        await page.setViewportSize({ width: 1366, height: 900 });
      }
      await page.close();
    }
    expect(browser.problems).toEqual([]);
  });
});

/** Overdue cases need short stage deadlines: the worker's time limits in milliseconds. */
describe('with stage deadlines of seconds', () => {
  let short: Running;
  beforeAll(async () => {
    short = await startStack({
      activities: {
        deadlines: {
          ...DEFAULT_DEADLINE_POLICY,
          stageDueMs: 1_000,
          reminderIntervalMs: 3_600_000,
          escalateAfterMs: 3_600_000,
        },
      },
    }).then(serve);
  });
  afterAll(async () => {
    await stop(short);
  });

  test('an administrator finds an overdue case in the stuck view', async () => {
    const { base } = short;
    const njS1 = await signIn(base, 'nj.s1');
    await njS1.getByRole('link', { name: '新建申请' }).click();
    await njS1.getByLabel('异动类型').selectOption('STUDY_ABROAD');
    await njS1.getByLabel('学生姓名').fill('王芳');
    await njS1.getByRole('button', { name: '查找' }).click();
    await njS1.locator('.picked', { hasText: '王芳' }).waitFor();
    await njS1.getByLabel('全国学籍号').fill(WANG);
    await njS1.getByLabel('异动原因').selectOption('01');
    await njS1.getByLabel('原因说明').fill('随父母出国');
    await njS1.getByLabel('前往国家或地区').fill('新加坡');
    await njS1.getByRole('button', { name: '保存申请' }).click();
    await njS1.waitForURL(/\/applications\/\d+$/);
    const id = caseIdOf(njS1);
    await njS1.close();

    const admin = await signIn(base, 'admin');
    await admin.getByRole('tab', { name: '超期' }).click();
    // The stage's second runs out; the list refreshes itself every 30 s, a reload is quicker.
    const row = admin
      .locator('tr', { has: admin.getByRole('link', { name: '出境学习' }) })
      .filter({ hasText: String(id) });
    for (let i = 0; i < 20 && !(await row.locator('.badge.overdue').count()); i++) {
      await admin.waitForTimeout(500);
      await admin.reload();
    }
    await row.locator('.badge.overdue').waitFor();
    expect(await row.textContent()).toContain('南江县实验小学');
    await screenshots(admin, '16-admin-stuck-overdue');

    // Remind now: one more mail to the school, counted.
    await row.getByRole('button', { name: '催办' }).click();
    await admin.getByRole('status').filter({ hasText: '发送催办邮件（共 2 次）' }).waitFor();
    // Extend with a reason: the case is no longer overdue and leaves the list.
    await row.getByRole('button', { name: '延期' }).click();
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await admin.getByLabel('新的办理期限').fill(later);
    await admin.getByLabel(/延期原因/).fill('学校停电，系统无法登录');
    await admin.getByRole('button', { name: '确认延期' }).click();
    await admin
      .getByRole('status')
      .filter({ hasText: `办理期限已延至 ${later}` })
      .waitFor();
    await row.waitFor({ state: 'detached' });
    const audit = await short.stack.prisma.auditEvent.findMany({
      where: { applicationId: id, action: { in: ['application.remind', 'application.extend'] } },
    });
    expect(audit.map((e) => e.action).sort()).toEqual(['application.extend', 'application.remind']);

    await admin.goto(`${base}/applications/${id}`);
    const link = admin.getByRole('link', { name: '在 Temporal UI 中查看流程' });
    expect(await link.getAttribute('href')).toBe(
      `http://localhost:8233/namespaces/default/workflows/application-${id}`,
    );
    await admin.close();
  });
});

// A 1×1 PNG: proof documents are checked by their bytes.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

test('纠错: the receiving school asks to reverse an approved transfer; both cases link; the original shows 已纠错', async () => {
  const { stack } = main;
  const reg = await registerPupil(stack, 'hhg.s1', {
    name: '钱小纠',
    gender: 'MALE',
    birthDate: '2016-04-04',
    serial: '131',
    grade: 3,
    className: '3年级1班',
  });
  expect(reg.status).toBe(201);
  const filed = await fileTransfer(stack, 'nj.s1', reg.body.studentNo);
  expect(filed.status).toBe(201);
  const original = filed.body.id as number;
  const chain = [
    ['nj.s1', 'RECEIVING_SCHOOL'],
    ['nj.edu', 'RECEIVING_COUNTY'],
    ['hhg.s1', 'SENDING_SCHOOL'],
    ['hhg.edu', 'SENDING_COUNTY'],
  ];
  for (const [user, stage] of chain) expect((await decideAs(stack, user, original, stage)).status).toBe(200);

  const page = await signIn(main.base, 'nj.s1');
  await page.goto(`${main.base}/applications/${original}`);
  await page.getByRole('button', { name: '申请纠错' }).click();
  const dialog = page.getByRole('dialog');
  // Empty: the field says so.
  await dialog.getByRole('button', { name: '提交纠错申请' }).click();
  await dialog.getByText('请填写纠错原因').first().waitFor();
  await dialog.getByLabel(/^纠错原因/).fill('误将同名学生办理转学，申请纠错');
  await dialog.getByRole('button', { name: '提交纠错申请' }).click();
  await page.waitForURL((url) => !url.pathname.endsWith(`/applications/${original}`));
  const reversal = caseIdOf(page);
  expect(reversal).toBeGreaterThan(original);
  await page.getByText('本业务为纠错').waitFor();
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('纠错 · 转学 · 钱小纠');
  await screenshots(page, '40-reversal-case');

  // Returned by the bureau: the school corrects the reason only (a reversal has no date or details of its own).
  expect((await decideAs(stack, 'nj.s1', reversal, 'RECEIVING_SCHOOL')).status).toBe(200);
  expect((await decideAs(stack, 'nj.edu', reversal, 'RECEIVING_COUNTY', 'RETURN', '请写明同名学生的班级')).status).toBe(
    200,
  );
  await page.reload();
  await page.getByRole('heading', { name: '被退回，请修改后重新提交' }).waitFor();
  expect(await page.getByLabel(/^异动日期/).count()).toBe(0);
  await page.getByLabel(/^纠错原因/).fill('误将3年级2班的同名学生办理转学，申请纠错');
  await page.getByRole('button', { name: '重新提交' }).click();
  await page.getByText('已重新提交').first().waitFor();

  for (const [user, stage] of chain) expect((await decideAs(stack, user, reversal, stage)).status).toBe(200);
  await page.goto(`${main.base}/applications/${original}`);
  await page.locator('.badge.reversed', { hasText: '已纠错' }).waitFor();
  // The API refuses a 转学联系函 for a reversed transfer and for the reversal: the page says why, with no button.
  await page.getByText('该转学已纠错撤销，不能再出具转学联系函。').waitFor();
  expect(await page.getByRole('button', { name: '下载转学联系函（PDF）' }).count()).toBe(0);
  await page.getByRole('link', { name: `业务 ${reversal}` }).click();
  await page.waitForURL((url) => url.pathname.endsWith(`/applications/${reversal}`));
  expect(await page.getByRole('button', { name: '申请纠错' }).count()).toBe(0);
  await page.getByRole('button', { name: '下载审批表（PDF）' }).waitFor();
  expect(await page.getByRole('button', { name: '下载转学联系函（PDF）' }).count()).toBe(0);
  await page.close();
});
