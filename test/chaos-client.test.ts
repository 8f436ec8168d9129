import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, GaveUpError } from './support/api-client';
import { SOON, startStack, ZHANG, type TestStack } from './support/stack';

// The retry rules README gives API clients ("Retrying requests"), as the chaos suite's client follows them.

/** A server that answers each request with the next of `answers` (a status, or 'drop' to close the connection). */
async function scripted(answers: (number | 'drop')[]) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`.trim());
    const next = answers.shift() ?? 200;
    if (next === 'drop') return req.socket.destroy();
    if (req.url === '/api/auth/login') return res.writeHead(200).end(JSON.stringify({ token: `t${seen.length}` }));
    res.writeHead(next, next === 503 ? { 'retry-after': '1' } : {});
    res.end(JSON.stringify({ status: next, detail: `answer ${next}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const fast = { deadlineMs: 10_000, requestTimeoutMs: 2_000, baseDelayMs: 10, maxDelayMs: 50 };

describe('the API client’s retry rules', () => {
  test('no answer or a 5xx: the same request again, and the answer is marked uncertain', async () => {
    const s = await scripted([200, 'drop', 500, 503, 409]); // the first answers the login
    try {
      const client = new ApiClient(s.url, fast);
      const a = await client.post('nj.s1', '/api/applications/7/withdraw', { reason: 'x' });
      expect(a).toMatchObject({ status: 409, attempts: 4, uncertain: true });
      expect(client.attempts.map((x) => x.status)).toEqual([200, 'network', 500, 503, 409]);
      expect(client.attempts.at(-1)!.route).toBe('POST /api/applications/:id/withdraw');
    } finally {
      await s.close();
    }
  });

  test('503 waits Retry-After; 401 logs in again; a 4xx at once is final and certain', async () => {
    const s = await scripted([200, 503, 401, 200, 200]);
    try {
      const client = new ApiClient(s.url, fast);
      const started = Date.now();
      const a = await client.get('nj.s1', '/api/tasks');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After: 1
      expect(a).toMatchObject({ status: 200, uncertain: true });
      // login, 503, 401 → login again with a new token, then 200
      expect(s.seen.filter((x) => x.startsWith('POST /api/auth/login'))).toHaveLength(2);
      expect(s.seen.at(-1)).toMatch(/Bearer t4$/);
      const b = await client.get('nj.s1', '/api/tasks');
      expect(b).toMatchObject({ status: 200, attempts: 1, uncertain: false });
    } finally {
      await s.close();
    }
  });

  test('gives up after its deadline', async () => {
    const s = await scripted([200, ...Array<number>(100).fill(503)]);
    try {
      const client = new ApiClient(s.url, { ...fast, deadlineMs: 1500 });
      await expect(client.get('nj.s1', '/api/tasks')).rejects.toBeInstanceOf(GaveUpError);
    } finally {
      await s.close();
    }
  });
});

describe('a filing sent again', () => {
  let stack: TestStack;
  let server: http.Server;
  let client: ApiClient;
  beforeAll(async () => {
    stack = await startStack({ worker: false });
    server = stack.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    // Patient: a first filing that took longer than `fast`'s 2 s on a loaded machine was sent again by the client,
    // whose repeat then got the 409 this test expects of the second filing (seen once in CI).
    const patient = { ...fast, requestTimeoutMs: 30_000, deadlineMs: 60_000 };
    client = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, patient);
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await stack?.close();
  });

  test('is refused with 409 naming the case the first attempt created (applicationId)', async () => {
    const body = { type: 'TRANSFER', studentNo: ZHANG, reason: '随父母工作调动', effectiveDate: SOON };
    const first = await client.post<{ id: number }>('nj.s1', '/api/applications', body);
    expect(first).toMatchObject({ status: 201, attempts: 1 });
    const again = await client.post<{ applicationId: number; detail: string }>('nj.s1', '/api/applications', body);
    expect(again.status).toBe(409);
    expect(again.body.applicationId).toBe(first.body.id);
    expect(again.body.detail).toContain(String(first.body.id));
  });
});
