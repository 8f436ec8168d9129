import { Router } from 'express';
import type { AppDeps } from '../app';
import { unavailable } from '../errors';
import { json, problem, type OpenAPIRegistry } from '../openapi-helpers';
import { z } from '../schemas/common';
import { databaseStatus } from '../services/health';

/** Seconds a client (or a load balancer) should wait before asking a not-ready process again. */
const READY_RETRY_AFTER = 5;

/**
 * DESIGN §5 "Health". `/healthz` is liveness: the process is up and serving (a restart would not help anything else
 * it could report). `/readyz` is readiness: Postgres and Temporal both answer, so requests can be served; a proxy or
 * orchestrator stops sending traffic while it answers 503.
 */
export function healthRoutes(deps: Pick<AppDeps, 'prisma' | 'temporal'>): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res, next) => {
    const [db, temporal] = await Promise.all([
      databaseStatus(deps.prisma),
      deps.temporal
        .withDeadline(Date.now() + 2000, () => deps.temporal.workflowService.getSystemInfo({}))
        .then(
          () => 'ok' as const,
          () => 'unreachable' as const,
        ),
    ]);
    if (db === 'ok' && temporal === 'ok') return res.json({ status: 'ok', db, temporal });
    const down = [db !== 'ok' ? '数据库' : null, temporal !== 'ok' ? 'Temporal' : null].filter(Boolean).join('和');
    const e = unavailable(`${down}暂时无法访问，请稍后再试`);
    e.retryAfter = READY_RETRY_AFTER;
    e.extensions = { db, temporal };
    next(e);
  });
  return r;
}

export function registerHealthPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/healthz',
    summary: '存活检查（进程在运行）',
    responses: { 200: json(z.object({ status: z.literal('ok') }), '进程在运行') },
  });
  reg.registerPath({
    method: 'get',
    path: '/readyz',
    summary: '就绪检查（数据库和 Temporal 可达）',
    responses: {
      200: json(z.object({ status: z.literal('ok'), db: z.literal('ok'), temporal: z.literal('ok') }), '可以服务'),
      503: problem('数据库或 Temporal 不可达（带 Retry-After；db、temporal 字段说明哪一个）'),
    },
  });
}
