import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type Express, type RequestHandler } from 'express';
import type { AppDeps } from '../app';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { freeText, OrgKindSchema, parse, z } from '../schemas/common';
import { findOrganisations, regionTree } from '../services/organisations';

/** What the web console needs to know about its deployment: where the Temporal UI is, for case links. */
export const ConsoleConfigSchema = z
  .object({
    temporalUiUrl: z.string().meta({ description: 'Temporal UI 的地址，如 http://localhost:8233' }),
    temporalNamespace: z.string(),
    workflowIdPrefix: z.string().meta({ description: '业务的流程编号为前缀加业务编号，如 application-42' }),
  })
  .meta({ id: 'ConsoleConfig' });

export const OrganisationSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    kind: OrgKindSchema,
    parentCode: z
      .string()
      .nullable()
      .meta({ description: '上级单位代码：学校所属的区县教育局，区县的地市教育局，地市的省教育厅' }),
    region: z
      .object({ province: z.string(), city: z.string(), county: z.string().nullable() })
      .nullable()
      .meta({ description: '按代码前 6 位（GB/T 2260 行政区划代码）得出的省、市、县名称' }),
  })
  .meta({ id: 'Organisation' });

export const OrganisationListSchema = z
  .object({
    items: z.array(OrganisationSchema),
    more: z.boolean().meta({ description: '给出 limit 时：还有更多结果' }),
  })
  .meta({ id: 'OrganisationList' });

export const OrganisationQuerySchema = z.object({
  q: freeText('学校代码或名称', { max: 50 }).optional().meta({ description: '代码开头或名称中的任意部分' }),
  region: z
    .string()
    .regex(/^(\d{2}|\d{4}|\d{6})$/, '地区应为 2、4 或 6 位行政区划代码前缀')
    .optional()
    .meta({ description: '省（2 位）、市（4 位）或县（6 位）代码前缀' }),
  kind: OrgKindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

const RegionSchema = z.object({ code: z.string(), name: z.string() });
export const RegionTreeSchema = z
  .object({
    items: z.array(
      RegionSchema.extend({
        cities: z.array(RegionSchema.extend({ counties: z.array(RegionSchema.extend({ schools: z.number().int() })) })),
      }),
    ),
  })
  .meta({ id: 'RegionTree', description: '有学校的省、市、县（GB/T 2260 名称）及各县学校数' });

export const ReasonCodesSchema = z
  .record(z.string(), z.array(z.object({ code: z.string(), label: z.string() })))
  .meta({ id: 'ReasonCodes', description: '按异动类型的异动原因代码（settings/reason-codes.json）' });

export interface ConsoleSettings {
  temporalUiUrl: string;
  temporalNamespace: string;
  /** The built console (web/dist); not served when the directory has no index.html. */
  webDir: string;
}

export const DEFAULT_CONSOLE: ConsoleSettings = {
  temporalUiUrl: 'http://localhost:8233',
  temporalNamespace: 'default',
  webDir: path.join(__dirname, '..', '..', 'web', 'dist'),
};

/** GET /api/console/config and GET /api/organisations (school picker): for any signed-in user. */
export function consoleRoutes({ prisma, console: settings, reasonCodes }: AppDeps, auth: RequestHandler): Router {
  const r = Router();
  // Authenticated per route, not for the whole mount: an unknown /api path still answers 404.
  r.get('/console/config', auth, (_req, res) => {
    res.json({
      temporalUiUrl: settings.temporalUiUrl.replace(/\/$/, ''),
      temporalNamespace: settings.temporalNamespace,
      workflowIdPrefix: 'application-',
    });
  });
  r.get('/organisations', auth, async (req, res) => {
    res.json(await findOrganisations(prisma, parse(OrganisationQuerySchema, req.query)));
  });
  r.get('/organisations/regions', auth, async (_req, res) => {
    res.json({ items: await regionTree(prisma) });
  });
  r.get('/reason-codes', auth, (_req, res) => {
    res.json(reasonCodes);
  });
  return r;
}

/**
 * Serves the built console from the API process: hashed assets with a long cache life, and index.html
 * (never cached, so a new build is picked up at once) for every other GET that is not an API path, so
 * that a reload on /applications/42 opens the console there. Nothing when the console is not built.
 */
export function serveConsole(app: Express, webDir: string) {
  const index = path.join(webDir, 'index.html');
  if (!fs.existsSync(index)) return;
  app.use(
    '/assets',
    express.static(path.join(webDir, 'assets'), { immutable: true, maxAge: '1y', index: false, fallthrough: true }),
  );
  app.use(express.static(webDir, { index: false, maxAge: '1h' }));
  const fallback: RequestHandler = (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path.startsWith('/api/') || req.path === '/api') {
      return next();
    }
    if (req.path === '/healthz' || req.path.startsWith('/assets/')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  };
  app.use(fallback);
}

export function registerConsolePaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/api/console/config',
    summary: '网页端配置（Temporal UI 地址等）',
    security: secured,
    responses: { 200: json(ConsoleConfigSchema, '配置'), 401: problem('未登录') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/organisations',
    summary: '单位（学校，区县、地市教育局和省教育厅）：按代码或名称查找，可限定省/市/县；不带条件时为全部',
    security: secured,
    request: { query: OrganisationQuerySchema },
    responses: { 200: json(OrganisationListSchema, '单位'), 400: problem('参数有误'), 401: problem('未登录') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/organisations/regions',
    summary: '省/市/县级联：有学校的行政区划（名称按 GB/T 2260 代码）',
    security: secured,
    responses: { 200: json(RegionTreeSchema, '行政区划'), 401: problem('未登录') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/reason-codes',
    summary: '异动原因代码（按异动类型）',
    security: secured,
    responses: { 200: json(ReasonCodesSchema, '原因代码'), 401: problem('未登录') },
  });
}
