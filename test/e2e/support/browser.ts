import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startStack, type TestStack } from '../../support/stack';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');

const apt = (args: string[]) =>
  spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });

/**
 * Debian's Chromium (and a CJK font, so screenshots show Chinese rather than boxes), installed with apt
 * when missing — `npx playwright install` cannot download browsers on our machines. If it cannot be
 * installed the E2E tests fail with this message; they are never skipped.
 */
export function ensureChromium(): string {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  console.log(`[e2e] ${CHROMIUM} is missing: installing Debian's chromium with apt-get…`);
  const packages = ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-wqy-microhei'];
  if (apt(packages).status !== 0) {
    apt(['update']);
    apt(packages);
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `E2E tests need Chromium at ${CHROMIUM} and it could not be installed ` +
        `(tried: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium, after apt-get update). ` +
        `Install it (as root) or set CHROMIUM_PATH to a Chromium binary.`,
    );
  }
  return CHROMIUM;
}

/** The console must be built (the bootstrap does it before `npm test`; this covers a bare `npx jest`). */
export function ensureConsoleBuilt() {
  if (fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('building the web console (npm run build:web) failed');
}

export interface Browser {
  context: BrowserContext;
  /** A new tab: its own sessionStorage, so its own login. */
  page(): Promise<Page>;
  /** Errors the pages logged that are not answers of the API (CSP violations, script errors). */
  problems: string[];
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, as the project's machines and CI run it. */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const executablePath = ensureChromium();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: opts.viewport ?? { width: 1366, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  context.setDefaultTimeout(20_000);
  const problems: string[] = [];
  const watch = (p: Page) => {
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    p.on('console', (m) => {
      // A refused request (4xx) is logged by the browser as "Failed to load resource": the console handles those.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    page: () => context.newPage(),
    problems,
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * The page's screenshot at 1366 px and at 390 px (a phone), as name-1366.png and name-390.png (`ready` waits for what
 * must show at each width), then the page gets back the size it had, so a test goes on as it was.
 */
export async function screenshots(page: Page, name: string, ready?: () => Promise<unknown>) {
  const before = page.viewportSize();
  for (const width of [1366, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await ready?.();
    await screenshot(page, `${name}-${width}`);
  }
  if (before) await page.setViewportSize(before);
}

/** A test stack's app on a free port of 127.0.0.1, and the console's address there. */
export async function listen(app: RequestListener): Promise<{ server: Server; base: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Stops serving and ends every connection at once. `close()` alone waits for the browser's kept-alive connections,
 * and a page left open (the stuck view polls every 30 s) can hold one past the hook's time limit (seen once in CI:
 * the `afterAll` of "with stage deadlines of seconds" timed out after 120 s).
 */
export const closeServer = (server: Server | undefined) =>
  new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** Signs a demo user in, in a new tab, and waits for the first page. */
export async function signIn(browser: Browser, base: string, username: string, password = 'demo-password') {
  const page = await browser.page();
  await page.goto(`${base}/`);
  await page.getByLabel(/^用户名/).fill(username);
  await page.getByLabel(/^密码/).fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('navigation', { name: '主菜单' }).waitFor();
  return page;
}

/** The console in Chromium against a test stack served on a free port: what an E2E file starts before its tests. */
export interface ConsoleRig {
  browser: Browser;
  stack: TestStack;
  base: string;
  close(): Promise<void>;
}

export async function startConsole(stackOptions?: Parameters<typeof startStack>[0]): Promise<ConsoleRig> {
  ensureConsoleBuilt();
  const [browser, stack] = await Promise.all([launchBrowser(), startStack(stackOptions)]);
  const { server, base } = await listen(stack.app);
  return {
    browser,
    stack,
    base,
    close: async () => {
      await browser.close();
      await closeServer(server);
      await stack.close();
    },
  };
}
