import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type Express, type RequestHandler } from 'express';
import type { AppDeps } from '../app';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { z } from '../schemas/common';

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
    kind: z.enum(['SCHOOL', 'COUNTY']),
    parentCode: z.string().nullable().meta({ description: '学校所属的区县教育局代码' }),
  })
  .meta({ id: 'Organisation' });

export const OrganisationListSchema = z.object({ items: z.array(OrganisationSchema) }).meta({ id: 'OrganisationList' });

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
export function consoleRoutes({ prisma, console: settings }: AppDeps, auth: RequestHandler): Router {
  const r = Router();
  // Authenticated per route, not for the whole mount: an unknown /api path still answers 404.
  r.get('/console/config', auth, (_req, res) => {
    res.json({
      temporalUiUrl: settings.temporalUiUrl.replace(/\/$/, ''),
      temporalNamespace: settings.temporalNamespace,
      workflowIdPrefix: 'application-',
    });
  });
  r.get('/organisations', auth, async (_req, res) => {
    const orgs = await prisma.organisation.findMany({ orderBy: { code: 'asc' } });
    res.json({ items: orgs.map((o) => ({ code: o.code, name: o.name, kind: o.kind, parentCode: o.parentCode })) });
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
    summary: '单位列表（学校和区县教育局），供选择学校',
    security: secured,
    responses: { 200: json(OrganisationListSchema, '单位'), 401: problem('未登录') },
  });
}
