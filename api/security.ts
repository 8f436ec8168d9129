import proxyaddr from 'proxy-addr';
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
  /** The one reverse proxy hop whose X-Forwarded-For gives the client address (TRUST_PROXY); empty: none. */
  trustProxy: string[];
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
  | 'TRUST_PROXY'
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
    trustProxy: c.TRUST_PROXY,
  };
}

/** The defaults of config.ts, for callers of buildApp that pass no settings (scripts, tests). */
export const DEFAULT_SECURITY: SecuritySettings = securitySettings(loadConfig({}));

/**
 * Express's `trust proxy` for exactly one hop: the address the socket came from is believed to be a proxy only when
 * it is one of `proxies`, and then only the last X-Forwarded-For entry (the one that proxy wrote) is taken. Anything
 * further left in the header — what a client wrote itself — is never believed, even from a trusted address.
 */
export function trustOneProxyHop(proxies: string[]): (addr: string, hop: number) => boolean {
  if (proxies.length === 0) return () => false;
  const isProxy = proxyaddr.compile(proxies);
  return (addr, hop) => hop === 0 && isProxy(addr, hop);
}
