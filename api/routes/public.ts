import { Router, type Request } from 'express';
import type { AppDeps } from '../app';
import { body as requestBody, json, problem, type OpenAPIRegistry } from '../openapi-helpers';
import { VerifyDocumentBodySchema, VerifyDocumentResultSchema } from '../schemas/documents';
import { CODE_LENGTH, normalisePublicCode, REF_LENGTH } from '../../domain/public-code';
import { logPublicAccess, noMatch, publicThrottle } from '../services/public-access';
import { verifyDocument } from '../services/documents';

/**
 * Public pages (no login), DESIGN §5: POST only (the code never goes into a URL or a log), one answer for every
 * wrong input, throttled per client address, every request logged in PublicAccessLog.
 */
export function publicRoutes({ prisma, security, logger }: AppDeps): Router {
  const r = Router();
  const endpoint = 'document.verify';
  const refOf = (req: Request) => (req.body as { ref?: unknown } | undefined)?.ref;
  const log = (req: Request, outcome: Parameters<typeof logPublicAccess>[1]['outcome'], subjectId?: number) =>
    logPublicAccess(prisma, { endpoint, req, ref: refOf(req), outcome, subjectId }).catch((e: unknown) =>
      logger.error({ err: e }, 'public access log failed'),
    );
  const throttle = publicThrottle({
    limit: security.publicLimit,
    windowMs: security.publicWindowMs,
    onThrottled: (req) => log(req, 'THROTTLED'),
  });

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
}
