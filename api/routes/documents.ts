import { Router, type Response } from 'express';
import type { AppDeps } from '../app';
import { currentUser, requireRole } from '../auth';
import { body as requestBody, json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { ApplicationIdParamsSchema } from '../schemas/applications';
import { parse } from '../schemas/common';
import {
  DocumentRefParamsSchema,
  IssuedDocumentListSchema,
  IssuedDocumentSchema,
  RevokeDocumentBodySchema,
} from '../schemas/documents';
import { issueDocument, listDocuments, revokeDocument, type DocumentKind } from '../services/documents';

/** Printing (审批表 for every case, 联系函 for an approved transfer) and the list of what was printed. */
export function documentRoutes(deps: AppDeps): Router {
  const { prisma } = deps;
  const r = Router();
  const print = (kind: DocumentKind) => async (req: Parameters<Parameters<Router['get']>[1]>[0], res: Response) => {
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const doc = await issueDocument(deps, currentUser(req), id, kind);
    res
      .type('application/pdf')
      .set('Cache-Control', 'no-store')
      .set('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(doc.fileName)}`)
      .set('X-Document-Ref', doc.ref)
      .send(doc.pdf);
  };
  r.get('/:id/form.pdf', print('APPROVAL_FORM'));
  r.get('/:id/letter.pdf', print('TRANSFER_LETTER'));
  r.get('/:id/documents', async (req, res) => {
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    res.json(await listDocuments(prisma, currentUser(req), id));
  });
  return r;
}

/** An administrator revokes a printed document. */
export function documentAdminRoutes({ prisma }: AppDeps): Router {
  const r = Router();
  r.post('/:ref/revoke', requireRole('ADMIN'), async (req, res) => {
    const { ref } = parse(DocumentRefParamsSchema, req.params);
    const { reason } = parse(RevokeDocumentBodySchema, req.body);
    res.json(await revokeDocument(prisma, currentUser(req), ref, reason));
  });
  return r;
}

export function registerDocumentPaths(reg: OpenAPIRegistry) {
  const pdf = (what: string) => ({
    description: `${what}（PDF，A4；文件编号和核验码印在文件上，响应头 X-Document-Ref 为文件编号）`,
    content: { 'application/pdf': { schema: { type: 'string' as const, format: 'binary' } } },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications/{id}/form.pdf',
    summary: '打印学籍异动审批表（每次打印出具一份可核验的文件，记入审计）',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: { 200: pdf('审批表'), 404: problem('不存在或无权查看') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications/{id}/letter.pdf',
    summary: '打印转学联系函（仅审批通过的转学）',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: { 200: pdf('转学联系函'), 404: problem('不存在或无权查看'), 409: problem('不是审批通过的转学') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications/{id}/documents',
    summary: '该业务已出具的文件（审批表、联系函）及是否作废',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: { 200: json(IssuedDocumentListSchema, '文件，最新的在前'), 404: problem('不存在或无权查看') },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/admin/documents/{ref}/revoke',
    summary: '作废已出具的文件（管理员，须填写原因，记入审计）；公开核验页随即显示“已作废”',
    security: secured,
    request: { params: DocumentRefParamsSchema, ...requestBody(RevokeDocumentBodySchema) },
    responses: {
      200: json(IssuedDocumentSchema, '已作废'),
      400: problem('原因有误'),
      403: problem('非管理员'),
      404: problem('没有这个文件'),
      409: problem('已作废'),
    },
  });
}
