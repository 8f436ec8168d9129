import path from 'node:path';
import { z } from 'zod';

export const PROJECT_ROOT = __dirname;

const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());
const ms = (def: number) => z.coerce.number().int().positive().default(def);

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
  TOKEN_TTL: z
    .string()
    .regex(/^\d+[smhd]$/, 'TOKEN_TTL 形如 8h、30m')
    .default('8h'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long an HTTP request waits for the workflow to accept a decision before answering 503. */
  UPDATE_TIMEOUT_MS: ms(15_000),
  /** How often the reconciler looks for cases whose workflow was never started. */
  RECONCILE_INTERVAL_MS: ms(10_000),
  SMTP_URL: optionalUrl,
  /** Where uploaded proof documents are kept (files named by their sha256). Default: DATA_DIR/attachments. */
  ATTACHMENTS_DIR: z.string().min(1).optional(),
  /** The province's extra conditions (JSON); default settings/province-rules.json. */
  RULES_FILE: z.string().min(1).optional(),
});

export type Config = z.infer<typeof schema>;

/** Parses the environment once at start-up; a bad value stops the process with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`配置有误 (invalid configuration):\n${lines.join('\n')}`);
  }
  if (parsed.data.NODE_ENV === 'production' && !parsed.data.JWT_SECRET) {
    throw new Error('配置有误 (invalid configuration):\n  JWT_SECRET: 生产环境必须设置 (required in production)');
  }
  return parsed.data;
}
