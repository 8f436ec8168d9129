// An HTTP client of the API that retries exactly as README ("Retrying requests") tells API clients to, and records
// every attempt. Used by the chaos suite; usable by any test that talks to a running API process over the network.

export const DEMO_PASSWORD = 'demo-password';

/** One HTTP attempt as the client saw it: a status, or `network` for no answer at all (refused, reset, timeout). */
export interface Attempt {
  at: number;
  method: string;
  /** The path with numbers replaced by `:id`, e.g. `POST /api/applications/:id/decisions`. */
  route: string;
  path: string;
  status: number | 'network';
  ms: number;
  /** problem+json `detail`, or the network error's message. */
  detail?: string;
  requestId?: string;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  /** Attempts made for this call (1 = answered at once). */
  attempts: number;
  /**
   * An earlier attempt may have taken effect without the client learning it: it got no answer, or a 5xx. A 409 after
   * that can mean "your own earlier attempt did it": re-read before concluding anything.
   */
  uncertain: boolean;
  /** The status of every attempt, in order (`network`: no answer). */
  history: (number | 'network')[];
}

export interface RetryOptions {
  /** Give up when the call has not been answered (2xx/4xx) within this long. */
  deadlineMs: number;
  /** One attempt's own timeout. */
  requestTimeoutMs: number;
  /** Back-off after a failed attempt: from baseDelayMs, doubling, at most maxDelayMs, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  deadlineMs: 5 * 60_000,
  requestTimeoutMs: 30_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};

export class GaveUpError extends Error {
  constructor(
    readonly call: string,
    readonly last: Attempt | undefined,
  ) {
    super(`gave up on ${call}: last answer ${last ? `${last.status} ${last.detail ?? ''}` : 'none'}`);
    this.name = 'GaveUpError';
  }
}

export const routeOf = (method: string, path: string) =>
  `${method} ${path.split('?')[0].replace(/\/\d+(?=\/|$)/g, '/:id')}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The retry rules (README, "Retrying requests"):
 * - no answer (connection refused or reset, timeout): the request may or may not have been applied; send the same
 *   request again after a back-off;
 * - 503 (and 429): wait Retry-After (or back off) and send the same request again;
 * - any other 5xx: a fault on the server's side, reported with its requestId; what was sent may or may not have
 *   taken effect, so it is handled as "no answer";
 * - 401: the access token ran out (or the server was restarted with a new key): log in again and resend;
 * - every other answer (2xx, 4xx) is final for this call.
 * Decisions, withdrawals, resubmissions and cancellations carry a business idempotency key (case, round, stage,
 * decision), so sending one again never acts twice; a filing that is retried finds its own case through the 409's
 * `applicationId`.
 */
export class ApiClient {
  private tokens = new Map<string, Promise<string>>();
  readonly attempts: Attempt[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly opts: RetryOptions = DEFAULT_RETRY,
    /** Random numbers for the jitter (seeded in the chaos suite). */
    private readonly random: () => number = Math.random,
  ) {}

  private backoff(n: number): number {
    const cap = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(n, 10));
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  private async attempt(method: string, path: string, body: unknown, token: string | null) {
    const started = Date.now();
    const record: Attempt = { at: started, method, route: routeOf(method, path), path, status: 'network', ms: 0 };
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = { raw: text.slice(0, 500) };
      }
      record.status = res.status;
      if (typeof parsed.detail === 'string') record.detail = parsed.detail;
      if (typeof parsed.requestId === 'string') record.requestId = parsed.requestId;
      const retryAfter = Number(res.headers.get('retry-after'));
      return {
        record,
        body: parsed,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0,
      };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      record.detail = err.cause?.code ?? err.cause?.message ?? err.name ?? err.message;
      return { record, body: {}, retryAfterMs: 0 };
    } finally {
      record.ms = Date.now() - started;
      this.attempts.push(record);
    }
  }

  /** Sends one request under the retry rules until it gets a final answer (2xx/4xx) or the deadline passes. */
  private async send<T>(method: string, path: string, body: unknown, user: string | null): Promise<Answer<T>> {
    const until = Date.now() + this.opts.deadlineMs;
    let uncertain = false;
    const history: (number | 'network')[] = [];
    let n = 0;
    let last: Attempt | undefined;
    let relogins = 0;
    for (;;) {
      n += 1;
      const login = user ? this.token(user) : null;
      const token = login ? await login : null;
      const { record, body: answer, retryAfterMs } = await this.attempt(method, path, body, token);
      last = record;
      const status = record.status;
      history.push(status);
      if (status === 401 && user && relogins < 3) {
        relogins += 1;
        if (this.tokens.get(user) === login) this.tokens.delete(user);
        continue;
      }
      if (status !== 'network' && status < 500 && status !== 429) {
        return { status, body: answer as T, attempts: n, uncertain, history };
      }
      // No answer, 429, 503 or another 5xx: the same request again, after Retry-After or a back-off.
      if (status === 'network' || status >= 500) uncertain = true;
      const wait = Math.min(30_000, Math.max(retryAfterMs, this.backoff(n - 1)));
      if (Date.now() + wait > until) throw new GaveUpError(`${method} ${path}`, last);
      await sleep(wait);
    }
  }

  /** A demo user's access token, logged in once and shared by every caller (a login is retried like any call). */
  token(username: string): Promise<string> {
    let t = this.tokens.get(username);
    if (!t) {
      t = this.send<{ token: string }>('POST', '/api/auth/login', { username, password: DEMO_PASSWORD }, null).then(
        (a) => {
          if (a.status !== 200) throw new Error(`login of ${username} answered ${a.status}`);
          return a.body.token;
        },
      );
      const mine = t;
      this.tokens.set(username, mine);
      void mine.catch(() => {
        if (this.tokens.get(username) === mine) this.tokens.delete(username);
      });
    }
    return t;
  }

  get<T = Record<string, unknown>>(user: string, path: string) {
    return this.send<T>('GET', path, undefined, user);
  }

  post<T = Record<string, unknown>>(user: string, path: string, body: unknown) {
    return this.send<T>('POST', path, body, user);
  }
}
