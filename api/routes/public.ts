import { Router, type Request } from 'express';
import type { AppDeps } from '../app';
import { body as requestBody, json, problem, type OpenAPIRegistry } from '../openapi-helpers';
import { VerifyDocumentBodySchema, VerifyDocumentResultSchema } from '../schemas/documents';
import { CODE_LENGTH, normalisePublicCode, REF_LENGTH } from '../../domain/public-code';
import { logPublicAccess, noMatch, publicThrottle, type PublicOutcome } from '../services/public-access';
import { verifyDocument } from '../services/documents';
import { caseStatus } from '../services/guardian';
import { CaseStatusBodySchema, CaseStatusResultSchema } from '../schemas/guardian';

/**
 * Public pages (no login), DESIGN §5: POST only (the code never goes into a URL or a log), one answer for every
 * wrong input, throttled per client address, every request logged in PublicAccessLog.
 */
export function publicRoutes({ prisma, security, logger, predictions }: AppDeps): Router {
  const r = Router();
  const refOf = (req: Request) => (req.body as { ref?: unknown } | undefined)?.ref;
  const logFor = (endpoint: string) => (req: Request, outcome: PublicOutcome, subjectId?: number) =>
    logPublicAccess(prisma, { endpoint, req, ref: refOf(req), outcome, subjectId }).catch((e: unknown) =>
      logger.error({ err: e }, 'public access log failed'),
    );
  // One throttle per page: a family checking its case is not held up by someone trying document codes.
  const throttleFor = (log: ReturnType<typeof logFor>) =>
    publicThrottle({
      limit: security.publicLimit,
      windowMs: security.publicWindowMs,
      onThrottled: (req) => log(req, 'THROTTLED'),
    });
  const log = logFor('document.verify');
  const throttle = throttleFor(log);

  /** 200 the document's facts as issued and VALID or REVOKED; 404, the same for every wrong input; 429 throttled. */
  r.post('/verify', throttle, async (req, res) => {
    const b = (req.body ?? {}) as { ref?: unknown; code?: unknown };
    const found = await verifyDocument(
      prisma,
      normalisePublicCode(b.ref, REF_LENGTH),
      normalisePublicCode(b.code, CODE_LENGTH),
    );
    await log(req, found ? found.answer.status : 'NO_MATCH', found?.id);
    if (!found) throw noMatch('文件');
    res.set('Cache-Control', 'no-store').json(found.answer);
  });

  /**
   * Guardian self-service: 200 the case's progress (no name, no ID number, no comments); 404, the same for every
   * wrong input and for a case closed more than 90 days ago; 429 throttled.
   */
  const progressLog = logFor('case.progress');
  r.post('/progress', throttleFor(progressLog), async (req, res) => {
    const b = (req.body ?? {}) as { ref?: unknown; code?: unknown };
    const found = await caseStatus(
      { prisma, predictions },
      normalisePublicCode(b.ref, REF_LENGTH),
      normalisePublicCode(b.code, CODE_LENGTH),
    );
    await progressLog(req, found ? found.outcome : 'NO_MATCH', found?.id);
    if (!found?.answer) throw noMatch('案件', '查询码');
    res.set('Cache-Control', 'no-store').json(found.answer);
  });
  return r;
}

export function registerPublicPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'post',
    path: '/api/public/verify',
    summary: '公开核验打印的文件（无需登录）：文件编号和核验码相符时返回出具时的内容（姓名已遮挡）和是否作废',
    request: requestBody(VerifyDocumentBodySchema),
    responses: {
      200: json(VerifyDocumentResultSchema, '文件由本系统出具；status 为 VALID（有效）或 REVOKED（已作废）'),
      404: problem('没有相符的文件（编号或核验码有误，各种错误一律如此回答）'),
      429: problem('此网络地址查询过于频繁（见 Retry-After）'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/public/progress',
    summary:
      '家长自助查询办理进度（无需登录）：查询编号和查询码相符时返回当前环节、办理单位、起始日期、办理期限和预计办结日期',
    request: requestBody(CaseStatusBodySchema),
    responses: {
      200: json(CaseStatusResultSchema, '办理进度（不含姓名、证件号码和审核意见）'),
      404: problem('没有相符的案件（编号或查询码有误，或已办结超过 90 天；各种情况一律如此回答）'),
      429: problem('此网络地址查询过于频繁（见 Retry-After）'),
    },
  });
}
