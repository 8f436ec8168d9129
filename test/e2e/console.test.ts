import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { forgetCachedSessions } from '../../api/auth';
import { buildOpenApiDocument } from '../../api/openapi';
import { DEFAULT_DEADLINE_POLICY } from '../../domain/deadlines';
import { idCheckChar } from '../../domain/id-number';
import { startStack, WANG, ZHANG, type TestStack } from '../support/stack';
import { ensureConsoleBuilt, launchBrowser, ROOT, screenshot, type Browser } from './support/browser';

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

async function serve(stack: TestStack): Promise<Running> {
  const server = await new Promise<Server>((resolve) => {
    const s = stack.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { stack, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const stop = async (r: Running | undefined) => {
  if (!r) return;
  await new Promise<void>((resolve) => r.server.close(() => resolve()));
  await r.stack.close();
};

let browser: Browser;
let main: Running;

beforeAll(async () => {
  ensureConsoleBuilt();
  [browser, main] = await Promise.all([launchBrowser(), startStack().then(serve)]);
});
afterAll(async () => {
  await browser?.close();
  await stop(main);
});

/** Signs a demo user in, in a new tab, and waits for the first page. */
async function signIn(base: string, username: string): Promise<Page> {
  const page = await browser.page();
  await page.goto(`${base}/`);
  await page.getByLabel(/^用户名/).fill(username);
  await page.getByLabel(/^密码/).fill('demo-password');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('navigation', { name: '主菜单' }).waitFor();
  return page;
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
  await screenshot(njS1, '01-clerk-tasks-empty');
  await njS1.getByRole('link', { name: '新建申请' }).click();
  await njS1.getByRole('heading', { name: '新建异动申请' }).waitFor();
  await njS1.getByLabel('转出学校（学生现在就读的学校）').selectOption('5203020001');
  await njS1.getByLabel('学生姓名').fill('张小鸣');
  await njS1.getByRole('button', { name: '查找' }).click();
  const suggestion = njS1.getByRole('button', { name: /是 张小明 吗/ });
  await suggestion.waitFor();
  expect(await njS1.locator('.lookup').textContent()).toContain('没有找到');
  await screenshot(njS1, '02-clerk-lookup-suggestion');
  await suggestion.click();
  await njS1.locator('.picked', { hasText: '张小明' }).waitFor();
  // The full 学籍号 comes from the family's papers; a wrong one (it fits the masked G520302************) is caught
  // by the API's match check, next to the field.
  await njS1.getByLabel('异动原因').fill('随父母工作调动');
  // (A real, valid number of another child: only the API knows it is not 张小明's.)
  await njS1.getByLabel('全国学籍号').fill(`G52030220150505009${idCheckChar('52030220150505009')}`);
  await njS1.getByRole('button', { name: '保存申请' }).click();
  await njS1.locator('.field-error', { hasText: '学籍号与所选学生不符' }).waitFor();
  await njS1.getByLabel('全国学籍号').fill(ZHANG);
  await njS1.getByLabel(/证明材料/).setInputFiles({ name: '转学证明.png', mimeType: 'image/png', buffer: PNG });
  await screenshot(njS1, '03-clerk-new-application');
  await njS1.getByRole('button', { name: '保存申请' }).click();
  await njS1.waitForURL(/\/applications\/\d+$/);
  const id = caseIdOf(njS1);
  await njS1.getByRole('button', { name: '转学证明.png' }).waitFor();
  await waitForWhere(njS1, '转入学校审核');
  // 学校审核: the receiving school sends it upward.
  await njS1.getByRole('button', { name: /学校审核通过，上报/ }).click();
  await njS1.getByRole('dialog').getByRole('button', { name: '确认同意' }).click();
  await waitForWhere(njS1, '南江县教育局 · 转入县教育局审核');
  await screenshot(njS1, '04-clerk-case-sent-up');

  // 2–4. Each holder opens it from 待办 and approves from the keyboard: A opens the dialog, Enter confirms.
  for (const [user, next] of [
    ['nj.edu', '遵义市红花岗区第一小学 · 转出学校审核'],
    ['hhg.s1', '红花岗区教育局 · 转出县教育局审核'],
    ['hhg.edu', '已办结'],
  ] as const) {
    const page = await signIn(base, user);
    if (user === 'nj.edu') await screenshot(page, '05-officer-tasks');
    await openFromTasks(page, base, id);
    await page.locator('.timeline').waitFor();
    if (user === 'nj.edu') await screenshot(page, '06-officer-case');
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
  await screenshot(admin, '07-admin-case-timeline');
  const pupil = await main.stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
  expect(pupil.schoolCode).toBe('5119220001');

  await admin.getByRole('link', { name: '统计' }).click();
  await admin.locator('figure.chart svg').first().waitFor();
  await screenshot(admin, '08-admin-stats');
  await admin.getByRole('link', { name: '用户' }).click();
  await admin.locator('td', { hasText: 'hhg.s1' }).waitFor();
  await screenshot(admin, '09-admin-users');
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
  await njS1.getByLabel('异动原因').fill('随父母出国');
  await njS1.getByLabel('前往国家或地区').fill('新家坡');
  // A date the API refuses: its problem+json names effectiveDate, and the message appears under that field.
  const tooLate = new Date(Date.now() + 400 * 86_400_000).toISOString().slice(0, 10);
  await njS1.getByLabel('异动日期').fill(tooLate);
  await njS1.getByRole('button', { name: '保存申请' }).click();
  const dateError = njS1.locator('.field', { has: njS1.getByLabel('异动日期') }).locator('.field-error');
  await dateError.waitFor();
  expect(await dateError.textContent()).toContain('异动日期应在今天前后一年之内');
  expect(await njS1.getByLabel('异动日期').evaluate((el) => el.matches(':focus'))).toBe(true);
  await screenshot(njS1, '10-clerk-field-error');

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
  await screenshot(njS1, '11-clerk-session-expired');
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
  await screenshot(njEdu, '12-officer-return-dialog');
  await njEdu.keyboard.press('Control+Enter');
  await waitForWhere(njEdu, '退回 南江县实验小学 修改');
  await njEdu.close();

  // The school sees it in 待办 as returned, reads the reason, corrects and resubmits.
  await njS1.goto(`${base}/tasks`);
  await njS1.locator('.tile', { hasText: '件被退回待修改' }).waitFor();
  await openFromTasks(njS1, base, id);
  const panel = njS1.getByRole('region', { name: '被退回，请修改后重新提交' });
  await panel.getByText('国家名称有误，请更正').waitFor();
  await screenshot(njS1, '13-clerk-returned-case');
  await panel.getByLabel('前往国家或地区').fill('新加坡');
  await panel.getByRole('button', { name: '重新提交' }).click();
  await waitForWhere(njS1, '南江县实验小学 · 学校审核');
  const timeline = njS1.locator('.timeline');
  await timeline.getByText('第 1 轮（已退回）').waitFor();
  await timeline.locator('.step-return', { hasText: '国家名称有误，请更正' }).waitFor();
  await screenshot(njS1, '14-clerk-resubmitted-timeline');
  const saved = await main.stack.prisma.application.findUniqueOrThrow({ where: { id } });
  expect(saved).toMatchObject({ status: 'IN_REVIEW', round: 2, details: { destination: '新加坡' } });

  // On a tablet the same page is one column and still usable.
  await njS1.setViewportSize({ width: 768, height: 1024 });
  await screenshot(njS1, '15-tablet-case');
  await njS1.close();
  expect(browser.problems).toEqual([]);
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
    await njS1.getByLabel('异动原因').fill('随父母出国');
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
    await screenshot(admin, '16-admin-stuck-overdue');

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
