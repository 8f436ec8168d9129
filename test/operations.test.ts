import { Client as TemporalClient, Connection } from '@temporalio/client';
import request from 'supertest';
import { buildApp } from '../api/app';
import { decisionOutcome, routeLabeller } from '../api/metrics';
import { createPrisma } from '../infra/db';
import { DEFAULT_DEADLINE_POLICY } from '../domain/deadlines';
import { DEFAULT_RULES } from '../domain/rules';
import { decideAs, fileTransfer, logger, startStack, uid, waitFor, WANG, ZHANG, type TestStack } from './support/stack';

// What an operator relies on: liveness and readiness as DESIGN §5 defines them, the Prometheus metrics of an API
// process, and the one trusted proxy hop that decides which client address the login limit counts.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** A sample's value from Prometheus text (undefined when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return undefined;
}

describe('health', () => {
  test('/healthz is liveness only: 200 even when Postgres and Temporal are unreachable; /readyz then says 503', async () => {
    // An app whose database and Temporal are both somewhere nothing listens.
    const prisma = createPrisma('postgresql://nobody:nothing@127.0.0.1:9/none', 1);
    const connection = Connection.lazy({ address: '127.0.0.1:9', connectTimeout: 500 });
    const app = buildApp({
      prisma,
      temporal: new TemporalClient({ connection, namespace: 'default' }),
      tokens: stack.tokens,
      logger,
      rules: DEFAULT_RULES,
      config: { TEMPORAL_TASK_QUEUE: 'none', UPDATE_TIMEOUT_MS: 1000, attachmentsDir: '/nonexistent' },
    });
    try {
      const live = await request(app).get('/healthz');
      expect(live.status).toBe(200);
      expect(live.body).toEqual({ status: 'ok' });
      const ready = await request(app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(ready.headers['retry-after'])).toBeGreaterThan(0);
      expect(ready.body).toMatchObject({
        type: '/problems/unavailable',
        status: 503,
        db: 'unreachable',
        temporal: 'unreachable',
      });
      expect(ready.body.detail).toMatch(/数据库和Temporal/);
    } finally {
      await prisma.$disconnect();
      await connection.close().catch(() => undefined);
    }
  });

  test('/readyz is 200 when both answer', async () => {
    const ready = await request(stack.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', db: 'ok', temporal: 'ok' });
  });
});

describe('/metrics', () => {
  test('counts requests by route template, decisions by outcome, and reads open cases per stage from the statistics', async () => {
    const created = await fileTransfer(stack, 'nj.s1', ZHANG);
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(409); // stale stage
    expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_COUNTY')).status).toBe(403); // a party, not the holder
    expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY', 'RETURN')).status).toBe(400); // no reason
    await request(stack.app).get('/api/applications/999999999').set('Authorization', 'Bearer nonsense');

    const res = await request(stack.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    const decision = (d: string, outcome: string) => sample(text, 'xueji_decisions_total', { decision: d, outcome });
    expect(decision('APPROVE', 'accepted')).toBe(1);
    expect(decision('APPROVE', 'conflict')).toBe(1);
    expect(decision('APPROVE', 'refused')).toBe(1);
    expect(decision('RETURN', 'invalid')).toBe(1);
    // Requests are labelled by template, never by id (bounded label values).
    expect(
      sample(text, 'xueji_http_requests_total', {
        method: 'POST',
        route: '/api/applications/{id}/decisions',
        status: '200',
      }),
    ).toBe(1);
    expect(sample(text, 'xueji_http_requests_total', { route: '/api/applications/{id}', status: '401' })).toBe(1);
    expect(text).not.toMatch(new RegExp(`route="[^"]*/${id}[/"]`));
    expect(
      sample(text, 'xueji_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/applications/{id}/decisions',
        status_class: '2xx',
      }),
    ).toBe(1);
    // Open cases per stage: the one case waits at RECEIVING_COUNTY, exactly as the database says.
    const open = await stack.prisma.application.count({
      where: { status: 'IN_REVIEW', currentStage: 'RECEIVING_COUNTY' },
    });
    expect(open).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'xueji_open_cases', { stage: 'RECEIVING_COUNTY' })).toBe(open);
    expect(sample(text, 'xueji_overdue_cases', { stage: 'RECEIVING_COUNTY' })).toBe(0);
    // The process's own figures (prom-client's defaults).
    expect(sample(text, 'xueji_api_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  test('route labels come from the OpenAPI templates; the fewest parameters win; everything else is bounded', () => {
    const label = routeLabeller(['/api/applications/{id}', '/api/applications/{id}/decisions', '/api/admin/stuck']);
    expect(label('/api/applications/42')).toBe('/api/applications/{id}');
    expect(label('/api/applications/42/decisions')).toBe('/api/applications/{id}/decisions');
    expect(label('/api/admin/stuck')).toBe('/api/admin/stuck');
    expect(label('/api/whatever/%ZZ')).toBe('other');
    expect(label('/applications/42')).toBe('console');
    expect([200, 409, 403, 404, 400, 503, 500].map(decisionOutcome)).toEqual([
      'accepted',
      'conflict',
      'refused',
      'refused',
      'invalid',
      'unavailable',
      'error',
    ]);
  });
});

describe('/metrics: an overdue case', () => {
  // Its own stack: stages due half a second after they open (reminders and escalation far off), so the worker's
  // timer marks the stage overdue through the roll-up, the path the gauge reads.
  let timed: TestStack;
  beforeAll(async () => {
    timed = await startStack({
      activities: {
        deadlines: {
          ...DEFAULT_DEADLINE_POLICY,
          stageDueMs: 500,
          reminderIntervalMs: 3_600_000,
          escalateAfterMs: 3_600_000,
        },
      },
    });
  });
  afterAll(async () => {
    await timed?.close();
  });

  test('xueji_overdue_cases counts it at its stage once the timer has fired, and drops when the stage is decided', async () => {
    const created = await fileTransfer(timed, 'nj.s1', ZHANG);
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    await waitFor(
      async () =>
        (await timed.prisma.applicationStep.findFirst({ where: { applicationId: id, stage: 'RECEIVING_SCHOOL' } }))
          ?.overdueAt,
      15_000,
      'the stage marked overdue',
    );
    const gauges = async (stage: string) => {
      const text = (await request(timed.app).get('/metrics')).text;
      return [sample(text, 'xueji_open_cases', { stage }), sample(text, 'xueji_overdue_cases', { stage })];
    };
    expect(await gauges('RECEIVING_SCHOOL')).toEqual([1, 1]);
    expect((await decideAs(timed, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    // The decision takes the case off the overdue count where it waited (the next stage starts its own clock).
    expect(await gauges('RECEIVING_SCHOOL')).toEqual([0, 0]);
    expect((await gauges('RECEIVING_COUNTY'))[0]).toBe(1);
  });
});

describe('client address behind one proxy hop (TRUST_PROXY)', () => {
  const failLogin = (app: ReturnType<TestStack['appWith']>, xff: string) =>
    request(app)
      .post('/api/auth/login')
      .set('X-Forwarded-For', xff)
      .send({ username: `nobody-${uid()}`, password: 'wrong-password' });

  test('from the trusted proxy, only the hop it wrote counts: a client cannot escape the login limit by spoofing', async () => {
    // supertest connects from 127.0.0.1 — the trusted proxy here (TRUST_PROXY=loopback).
    const app = stack.appWith({ loginIpLimit: 2, loginIpWindowMs: 60_000, trustProxy: ['loopback'] });
    // The proxy appends the address it saw (203.0.113.7); whatever the client put in front changes nothing.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await failLogin(app, `10.9.${i}.1, 203.0.113.7`)).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    // Another real client behind the same proxy is counted on its own.
    expect((await failLogin(app, '198.51.100.20')).status).toBe(401);
  });

  test('from an address that is not the proxy, X-Forwarded-For is ignored altogether', async () => {
    const app = stack.appWith({ loginIpLimit: 2, loginIpWindowMs: 60_000, trustProxy: ['192.0.2.1'] });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await failLogin(app, `203.0.113.${i}`)).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    // And the audit trail records the socket's address, not the header.
    const last = await stack.prisma.auditEvent.findFirst({
      where: { action: 'auth.login_failed' },
      orderBy: { seq: 'desc' },
    });
    expect(JSON.stringify(last?.details)).not.toMatch(/203\.0\.113/);
  });
});

describe('a second case at another stage', () => {
  test('shows up in its own stage gauge', async () => {
    const created = await as2(stack, WANG);
    const res = await request(stack.app).get('/metrics');
    const open = await stack.prisma.application.count({ where: { status: 'IN_REVIEW', currentStage: 'SCHOOL' } });
    expect(created).toBeGreaterThan(0);
    expect(sample(res.text, 'xueji_open_cases', { stage: 'SCHOOL' })).toBe(open);
  });
});

/** Files a study-abroad case for 王芳 at her own school (it waits at SCHOOL). */
async function as2(s: TestStack, studentNo: string): Promise<number> {
  const token = await s.login('nj.s1');
  const res = await request(s.app)
    .post('/api/applications')
    .set('Authorization', `Bearer ${token}`)
    .send({
      type: 'STUDY_ABROAD',
      studentNo,
      reason: '随父母出国',
      effectiveDate: new Date().toISOString().slice(0, 10),
      details: { destination: '新加坡' },
    });
  expect(res.status).toBe(201);
  return res.body.id as number;
}
