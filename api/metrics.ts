// Prometheus metrics of one API process, served at GET /metrics (not through nginx: see deploy/nginx). prom-client is
// the Node client the Prometheus project lists; each app gets its own registry (tests build several in one process).
import type { Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import { openCaseGauges } from './services/stats';

const DECISIONS = new Set(['APPROVE', 'REJECT', 'RETURN']);
/** The routes by which a stage is decided: the holder's decision and an administrator's override. */
const DECISION_PATHS = ['/api/applications/{id}/decisions', '/api/admin/applications/{id}/override'];

export interface ApiMetrics {
  registry: Registry;
  /** Counts and times every request, labelled by its OpenAPI path template (bounded cardinality). */
  middleware: RequestHandler;
  /** GET /metrics. */
  handler: RequestHandler;
}

/** What became of a decision request, from its HTTP status. */
export function decisionOutcome(status: number): string {
  if (status >= 200 && status < 300) return 'accepted';
  return (
    {
      400: 'invalid',
      401: 'refused',
      403: 'refused',
      404: 'refused',
      409: 'conflict',
      429: 'throttled',
      503: 'unavailable',
    }[status] ?? 'error'
  );
}

/**
 * A matcher from a concrete path to its OpenAPI template (`/api/applications/42/decisions` →
 * `/api/applications/{id}/decisions`); the template with the fewest parameters wins. Anything else is `other`, and the
 * console's own files are `console`.
 */
export function routeLabeller(templates: string[]): (path: string) => string {
  const compiled = templates
    .map((t) => ({
      t,
      params: (t.match(/\{[^}]+\}/g) ?? []).length,
      re: new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}/?$`),
    }))
    .sort((a, b) => a.params - b.params);
  return (path) => {
    const hit = compiled.find((c) => c.re.test(path));
    if (hit) return hit.t;
    return path.startsWith('/api/') || path === '/api' ? 'other' : 'console';
  };
}

export function createApiMetrics(opts: { prisma: PrismaClient; routes: string[]; logger: Logger }): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'xueji_api_' });
  const label = routeLabeller([...opts.routes, '/metrics']);

  const requests = new Counter({
    name: 'xueji_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'xueji_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'xueji_decisions_total',
    help: 'Decisions on a stage (APPROVE/REJECT/RETURN, holder or override) by outcome: accepted, conflict, refused …',
    labelNames: ['decision', 'outcome'] as const,
    registers: [registry],
  });
  // Read from the statistics service at scrape time — one call serves both gauges (prom-client collects metrics
  // concurrently, so both wait on the same read) — never counted here.
  let scrape: Promise<Awaited<ReturnType<typeof openCaseGauges>> | null> | null = null;
  const rows = () =>
    (scrape ??= openCaseGauges(opts.prisma).catch((err: unknown) => {
      // The database is down: the last values stay, and the scrape still answers.
      opts.logger.warn({ err: String(err) }, 'metrics: open-case gauges not refreshed');
      return null;
    }));
  const caseGauge = (name: string, help: string, pick: (r: { open: number; overdue: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['stage'] as const,
      registers: [registry],
      async collect() {
        const got = await rows();
        if (!got) return;
        this.reset();
        for (const r of got) this.set({ stage: r.stage }, pick(r));
      },
    });
  caseGauge('xueji_open_cases', 'Open cases (in review), by current stage', (r) => r.open);
  caseGauge('xueji_overdue_cases', 'Open cases past their stage due date, by current stage', (r) => r.overdue);

  const middleware: RequestHandler = (req: Request, res: Response, next) => {
    const end = process.hrtime.bigint();
    res.once('finish', () => {
      const route = label(req.originalUrl.split('?')[0]);
      const status = res.statusCode;
      requests.inc({ method: req.method, route, status: String(status) });
      latency.observe(
        { method: req.method, route, status_class: `${Math.floor(status / 100)}xx` },
        Number(process.hrtime.bigint() - end) / 1e9,
      );
      if (req.method === 'POST' && DECISION_PATHS.includes(route)) {
        const d = (req.body as { decision?: unknown } | undefined)?.decision;
        decisions.inc({
          decision: typeof d === 'string' && DECISIONS.has(d) ? d : 'invalid',
          outcome: decisionOutcome(status),
        });
      }
    });
    next();
  };

  const handler: RequestHandler = async (_req, res, next) => {
    try {
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      scrape = null; // each scrape reads the statistics once
      res.end(await registry.metrics());
    } catch (e) {
      next(e);
    }
  };

  return { registry, middleware, handler };
}
