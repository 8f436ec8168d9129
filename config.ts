import fs from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';

export const PROJECT_ROOT = __dirname;

const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());
const ms = (def: number) => z.coerce.number().int().positive().default(def);
const count = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/** '15m' → 900000. Durations are written as a number and one unit: ms, s, m, h or d. */
export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
const duration = (name: string, def: string) =>
  z
    .string()
    .regex(DURATION, `${name} 形如 15m、12h、30s`)
    .refine((v) => !DURATION.test(v) || durationMs(v) > 0, `${name} 必须大于 0`)
    .default(def);

/** Comma-separated origins (https://admin.example.org); each must be an origin, not a URL with a path or '*'. */
const origins = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const list = (v ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    for (const o of list) {
      let origin: string | null = null;
      try {
        origin = new URL(o).origin;
      } catch {
        // reported below
      }
      if (origin !== o.replace(/\/$/, '') || !/^https?:/.test(o)) {
        ctx.addIssue({
          code: 'custom',
          message: `“${o}” 不是来源（应形如 https://xueji.example.org，不带路径，不能用 *）`,
        });
      }
    }
    return list.map((o) => o.replace(/\/$/, ''));
  });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Unset: `npm start` runs an embedded Postgres with its data under DATA_DIR. */
  DATABASE_URL: optionalUrl,
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  /** Unset: `npm start` runs the Temporal dev server with its SQLite file under DATA_DIR. */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('xueji-applications'),
  TEMPORAL_UI_URL: optionalUrl,
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, 'data')),
  /** HMAC key for access tokens. Unset outside production: a random key is kept under DATA_DIR. */
  JWT_SECRET: z.string().min(32, 'JWT_SECRET 至少 32 个字符 (at least 32 characters)').optional(),
  /** Lifetime of an access token (JWT). Short: a refresh gets a new one, and each request checks the session. */
  ACCESS_TOKEN_TTL: duration('ACCESS_TOKEN_TTL', '15m'),
  /** Lifetime of a login (its session and refresh token). Rotating the refresh token does not extend it. */
  REFRESH_TOKEN_TTL: duration('REFRESH_TOKEN_TTL', '12h'),
  /** Consecutive failed logins after which an account is locked, and for how long. Kept in the database. */
  LOGIN_MAX_FAILURES: count(5, 100),
  LOGIN_LOCK_DURATION: duration('LOGIN_LOCK_DURATION', '15m'),
  /** Failed (or still running) logins allowed from one address per window; kept in memory per API process. */
  LOGIN_IP_LIMIT: count(30, 100_000),
  LOGIN_IP_WINDOW: duration('LOGIN_IP_WINDOW', '1m'),
  /** Requests to a public page (document verification) allowed from one address per window, right or wrong. */
  PUBLIC_LIMIT: count(20, 100_000),
  PUBLIC_WINDOW: duration('PUBLIC_WINDOW', '10m'),
  /** Browser origins allowed to call the API (CORS). Unset: none, no Access-Control-Allow-Origin at all. */
  CORS_ORIGINS: origins,
  /** Organisation and pupil imports (CSV or .xlsx): at most this many rows and bytes per file. */
  IMPORT_MAX_ROWS: count(20_000, 1_000_000),
  IMPORT_MAX_BYTES: count(10 * 1024 * 1024, 100 * 1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long an HTTP request waits for the workflow to accept a decision before answering 503. */
  UPDATE_TIMEOUT_MS: ms(15_000),
  /** How often the reconciler looks for cases whose workflow was never started. */
  RECONCILE_INTERVAL_MS: ms(10_000),
  SMTP_URL: optionalUrl,
  /**
   * How long the mail dispatcher holds a claimed outbox row: longer than the longest database outage during which a
   * sent mail must not be sent again (it keeps retrying the record meanwhile). A crashed worker's claims wait this
   * long before another dispatcher takes them over.
   */
  MAIL_LEASE: duration('MAIL_LEASE', '10m'),
  /**
   * Cases the worker keeps in memory between their workflow tasks; the rest are replayed from Temporal's history when
   * they next move (a few milliseconds). Bounds the worker's memory whatever the number of open cases.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(50),
  /**
   * The worker's writes (its local activities) running at once, each holding one of the process's 10 database
   * connections (infra/db.ts) while it runs: the rest stay free for the API in the same process, so a backlog of
   * workflow starts after a burst of filings does not leave requests waiting for a connection. At 8 clients, 8 costs
   * nothing measurable (README "Performance": five alternating pairs against the SDK's 100); 6 cost about a tenth.
   */
  WORKER_MAX_LOCAL_ACTIVITIES: count(8, 100),
  /** The console's public address, for links in mail. Default: http://localhost:PORT. */
  APP_URL: optionalUrl,
  /** Time limits per stage, reminders and escalation (JSON); default settings/deadlines.json. */
  DEADLINES_FILE: z.string().min(1).optional(),
  MAIL_FROM: z.string().min(1).default('学籍异动系统 <noreply@xueji.local>'),
  /** Where uploaded proof documents are kept (files named by their sha256). Default: DATA_DIR/attachments. */
  ATTACHMENTS_DIR: z.string().min(1).optional(),
  /** The province's extra conditions (JSON); default settings/province-rules.json. */
  RULES_FILE: z.string().min(1).optional(),
  /** Coded reasons per change type (JSON); default settings/reason-codes.json. */
  REASON_CODES_FILE: z.string().min(1).optional(),
  /** Review levels above the county each province adds (JSON); default settings/review-levels.json (none). */
  REVIEW_LEVELS_FILE: z.string().min(1).optional(),
  /**
   * The one reverse proxy whose X-Forwarded-For is believed: its address(es) — `loopback`, `uniquelocal`, IPs or
   * CIDRs, comma-separated — or `none`. Exactly one hop: the client address is the one that proxy saw.
   */
  TRUST_PROXY: z
    .string()
    .default('loopback')
    .transform((v) => (['none', 'false', ''].includes(v.trim()) ? [] : v.split(',').map((s) => s.trim())))
    .superRefine((list, ctx) => {
      try {
        proxyaddr.compile(list); // what the app will use: loopback, linklocal, uniquelocal, IPs, CIDRs
      } catch {
        ctx.addIssue({ code: 'custom', message: 'loopback、uniquelocal、IP 或 CIDR，逗号分隔，或 none' });
      }
    }),
  /**
   * The Temporal server's Postgres (a role that may create databases, no database name), for `npm run backup` and
   * `npm run restore` when TEMPORAL_ADDRESS names a real cluster: its `temporal` and `temporal_visibility` databases.
   */
  TEMPORAL_DB_URL: optionalUrl,
  /** The worker's Prometheus endpoint (the Temporal SDK's own metrics) listens on this port; unset: none. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

export type Config = z.infer<typeof schema>;

/**
 * The settings files, each of which may be moved out of settings/ (its default place) by its variable: backups save
 * every one of them wherever it is. A new settings file is added here and in the schema above.
 */
export const SETTINGS_FILE_KEYS = [
  'RULES_FILE',
  'REASON_CODES_FILE',
  'REVIEW_LEVELS_FILE',
  'DEADLINES_FILE',
] as const satisfies readonly (keyof Config)[];

/**
 * The process environment over the project's `.env` file, if there is one (as .env.example says): a variable set in
 * the environment always wins. Tests (NODE_ENV=test) never read .env.
 */
export function environment(root: string = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = path.join(root, '.env');
  if (env.NODE_ENV === 'test' || !fs.existsSync(file)) return env;
  return { ...parseDotenv(fs.readFileSync(file)), ...env };
}

/** Parses the environment once at start-up; a bad value stops the process with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = environment()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`配置有误 (invalid configuration):\n${lines.join('\n')}`);
  }
  if (env.TOKEN_TTL !== undefined) {
    throw new Error(
      '配置有误 (invalid configuration):\n  TOKEN_TTL: 已改为 ACCESS_TOKEN_TTL（访问令牌，默认 15m）和 REFRESH_TOKEN_TTL（登录有效期，默认 12h）',
    );
  }
  if (parsed.data.NODE_ENV === 'production' && !parsed.data.JWT_SECRET) {
    throw new Error('配置有误 (invalid configuration):\n  JWT_SECRET: 生产环境必须设置 (required in production)');
  }
  return parsed.data;
}
