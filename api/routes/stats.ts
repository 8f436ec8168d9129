import { Router, type RequestHandler, type Response } from 'express';
import type { AppDeps } from '../app';
import { currentUser } from '../auth';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { StatsSchema } from '../schemas/admin';
import { parse, z } from '../schemas/common';
import { readableOrgs } from '../services/applications';
import { loadStats, statsWorkbook } from '../services/stats';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export const ScopedStatsQuerySchema = z.strictObject({
  format: z.enum(['json', 'xlsx'], { error: '格式应为 json 或 xlsx' }).default('json'),
});

/**
 * Statistics for one's own organisations: a bureau (county, 地市, 省) sees itself and the organisations under it, a school itself, an
 * administrator everything (as GET /api/admin/stats). The scope is the same as for reading cases.
 */
export function statsRoutes({ prisma }: AppDeps, auth: RequestHandler): Router {
  const r = Router();
  const send = async (req: Parameters<Parameters<Router['get']>[1]>[0], res: Response, format: 'json' | 'xlsx') => {
    const orgs = await readableOrgs(prisma, currentUser(req));
    const stats = await loadStats(prisma, new Date(), orgs === null ? undefined : { orgCodes: orgs });
    if (format === 'json') {
      res.json(stats);
      return;
    }
    res
      .type(XLSX)
      .attachment(`stats-${stats.generatedAt.slice(0, 10)}.xlsx`)
      .send(await statsWorkbook(stats));
  };
  // Authenticated per route, not for the whole /api mount: an unknown /api path still answers 404.
  r.get('/stats.xlsx', auth, async (req, res) => send(req, res, 'xlsx'));
  r.get('/stats', auth, async (req, res) => send(req, res, parse(ScopedStatsQuerySchema, req.query).format));
  return r;
}

export function registerStatsPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/api/stats',
    summary: '本单位的办理统计：教育局（区县、地市、省）为本局及辖区内的单位，学校为本校，管理员为全部',
    security: secured,
    request: { query: ScopedStatsQuerySchema },
    responses: { 200: json(StatsSchema, '统计'), 400: problem('参数有误') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/stats.xlsx',
    summary: '本单位的办理统计，导出为 Excel',
    security: secured,
    responses: {
      200: {
        description: 'Excel 工作簿：工作表“按环节”“按单位”',
        content: { [XLSX]: { schema: { type: 'string' as const, format: 'binary' } } },
      },
    },
  });
}
