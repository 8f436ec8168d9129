import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser } from '../auth';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { parse } from '../schemas/common';
import {
  PupilPageSchema,
  PupilRefParamsSchema,
  PupilSearchQuerySchema,
  PupilSearchResultSchema,
} from '../schemas/pupils';
import { pupilPage, searchPupils } from '../services/pupils';

/**
 * 学籍查询: pupils within the caller's reach, found by name or 学籍号, and a pupil's page (record, change history,
 * cases). Lists mask the 学籍号; a pupil is opened by its opaque `ref`, so no ID number goes into a link.
 */
export function pupilRoutes({ prisma }: AppDeps): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const q = parse(PupilSearchQuerySchema, req.query);
    res.json(await searchPupils(prisma, currentUser(req), q));
  });
  r.get('/:ref', async (req, res) => {
    const { ref } = parse(PupilRefParamsSchema, req.params);
    res.json(await pupilPage(prisma, currentUser(req), ref));
  });
  return r;
}

export function registerPupilPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/api/pupils',
    summary: '学籍查询：按姓名或学籍号查找本单位可查看的学生（学籍号已脱敏）',
    security: secured,
    request: { query: PupilSearchQuerySchema },
    responses: { 200: json(PupilSearchResultSchema, '查找结果，最多 50 名'), 400: problem('缺少姓名或学籍号') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/pupils/{ref}',
    summary: '学生学籍页：学籍、异动记录和业务',
    security: secured,
    request: { params: PupilRefParamsSchema },
    responses: { 200: json(PupilPageSchema, '学生'), 404: problem('不存在或无权查看') },
  });
}
