// The bench's HTTP client: node:http on kept-alive connections, one per request in flight. Node's fetch (undici)
// cost the bench's process 2.6–2.8 ms of CPU per page of 待办 (50 cases), node:http 1.0–1.3 ms, on the same two
// cores as the system it measures (README "Performance").
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export interface Answer {
  status: number;
  body: Buffer;
}

/** One request; the answer's body whole. */
export function request(
  base: string,
  method: string,
  path: string,
  o: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, base),
      {
        method,
        agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A request whose answer must be 2xx, its body parsed as JSON. */
export async function json<T>(base: string, method: string, path: string, o: { token?: string; body?: unknown } = {}) {
  const a = await request(base, method, path, o);
  if (a.status >= 300) throw new Error(`${method} ${path} → ${a.status} ${a.body.toString()}`);
  return JSON.parse(a.body.toString()) as T;
}
