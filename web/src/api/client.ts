import createClient from 'openapi-fetch';
import type { components, paths } from '../generated/api';
import { session } from './session';

export type Schemas = components['schemas'];
export type Application = Schemas['Application'];
export type Step = Schemas['Step'];
export type Problem = Schemas['Problem'];
export interface FieldProblem {
  path: string;
  message: string;
}

/** A refused request, as the API's problem+json (RFC 9457) says it: Chinese message, offending fields named. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: FieldProblem[];
  /** The whole problem document (an import's per-row report rides on it). */
  readonly body: Record<string, unknown>;
  constructor(status: number, body: unknown) {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const detail =
      typeof b.detail === 'string'
        ? b.detail
        : status === 0
          ? '无法连接服务器，请检查网络后重试'
          : `请求失败（${status}）`;
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.errors = Array.isArray(b.errors) ? (b.errors as FieldProblem[]) : [];
    this.body = b;
  }
}

let refreshing: Promise<boolean> | null = null;

/**
 * Trades the refresh token for new tokens, once for all requests that found their access token
 * expired at the same moment: the server rotates the refresh token on every use and treats a second use
 * of the same one as theft (it ends the login), so two parallel refreshes must never happen.
 */
export function refreshTokens(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = session.refreshToken();
    if (!refreshToken) return false;
    try {
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refreshToken }),
      });
      if (!res.ok) return false;
      session.signedIn(await res.json());
      return true;
    } catch {
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

const withToken = (req: Request) => {
  const token = session.accessToken();
  if (token) req.headers.set('Authorization', `Bearer ${token}`);
  return req;
};

/**
 * fetch with the access token; on 401 one refresh and one retry. If the refresh is refused the login is
 * over: the console shows its sign-in dialog over the page (nothing on the page is lost) and the
 * caller gets the 401 to show.
 */
async function authedFetch(request: Request): Promise<Response> {
  const isAuthCall = new URL(request.url).pathname.startsWith('/api/auth/') && !request.url.endsWith('/logout');
  if (isAuthCall) return fetch(request);
  const retry = request.clone();
  if (!session.accessToken() && session.refreshToken()) await refreshTokens();
  const res = await fetch(withToken(request));
  if (res.status !== 401) return res;
  if (await refreshTokens()) return fetch(withToken(retry));
  session.expire();
  return res;
}

export const api = createClient<paths>({
  baseUrl: '',
  fetch: (req) =>
    authedFetch(req).catch((e: unknown) => {
      // Network down, server restarting: a problem like any other, in words a clerk understands.
      throw new ApiError(0, { detail: '无法连接服务器，请检查网络后重试', cause: String(e) });
    }),
});

/** The data of a call, or its problem thrown as ApiError. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as T;
}

/** Saves a download (attachment, Excel) under its name. */
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
