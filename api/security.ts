import { durationMs, loadConfig, type Config } from '../config';

/** The login, session and upload limits the app enforces; from config.ts, or overridden by tests. */
export interface SecuritySettings {
  /** How long a login lasts (the session and its refresh token), in ms. */
  sessionTtlMs: number;
  /** Consecutive failed logins that lock an account, and for how long (ms). */
  maxFailedLogins: number;
  lockMs: number;
  /** Failed or in-flight logins allowed per client address per window. */
  loginIpLimit: number;
  loginIpWindowMs: number;
  /** Browser origins allowed by CORS; empty: no CORS headers at all. */
  /** Requests to a public page per client address per window (DESIGN §5 "Public pages"). */
  publicLimit: number;
  publicWindowMs: number;
  corsOrigins: string[];
  importMaxRows: number;
  importMaxBytes: number;
}

type SecurityConfig = Pick<
  Config,
  | 'REFRESH_TOKEN_TTL'
  | 'LOGIN_MAX_FAILURES'
  | 'LOGIN_LOCK_DURATION'
  | 'LOGIN_IP_LIMIT'
  | 'LOGIN_IP_WINDOW'
  | 'PUBLIC_LIMIT'
  | 'PUBLIC_WINDOW'
  | 'CORS_ORIGINS'
  | 'IMPORT_MAX_ROWS'
  | 'IMPORT_MAX_BYTES'
>;

export function securitySettings(c: SecurityConfig): SecuritySettings {
  return {
    sessionTtlMs: durationMs(c.REFRESH_TOKEN_TTL),
    maxFailedLogins: c.LOGIN_MAX_FAILURES,
    lockMs: durationMs(c.LOGIN_LOCK_DURATION),
    loginIpLimit: c.LOGIN_IP_LIMIT,
    loginIpWindowMs: durationMs(c.LOGIN_IP_WINDOW),
    publicLimit: c.PUBLIC_LIMIT,
    publicWindowMs: durationMs(c.PUBLIC_WINDOW),
    corsOrigins: c.CORS_ORIGINS,
    importMaxRows: c.IMPORT_MAX_ROWS,
    importMaxBytes: c.IMPORT_MAX_BYTES,
  };
}

/** The defaults of config.ts, for callers of buildApp that pass no settings (scripts, tests). */
export const DEFAULT_SECURITY: SecuritySettings = securitySettings(loadConfig({}));
