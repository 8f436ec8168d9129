import { z, freeText } from './common';

export const DocumentKindSchema = z.enum(['APPROVAL_FORM', 'TRANSFER_LETTER']).meta({ id: 'DocumentKind' });

export const IssuedDocumentSchema = z
  .object({
    ref: z.string().meta({ description: '文件编号（印在文件上）' }),
    kind: DocumentKindSchema,
    title: z.string(),
    issuedAt: z.string(),
    issuedBy: z.string().meta({ description: '出具单位' }),
    revokedAt: z.string().nullable(),
    revokeReason: z.string().nullable(),
  })
  .meta({ id: 'IssuedDocument' });

export const IssuedDocumentListSchema = z
  .object({ items: z.array(IssuedDocumentSchema) })
  .meta({ id: 'IssuedDocumentList' });

export const DocumentRefParamsSchema = z.object({
  ref: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[0-9A-Z]{8}$/, '文件编号应为 8 位字母或数字'),
});

export const RevokeDocumentBodySchema = z
  .object({ reason: freeText('作废原因', { min: 5, max: 500, multiline: true }) })
  .meta({ id: 'RevokeDocumentBody' });

/** The public check's body. Never validated with errors naming fields: every wrong input gets the same answer. */
export const VerifyDocumentBodySchema = z
  .object({
    ref: z.string().meta({ description: '文件编号（8 位，可带连字符，不区分大小写）', example: '7KQ2-M9XD' }),
    code: z.string().meta({ description: '核验码（10 位，可带连字符，不区分大小写）', example: 'K7QM-2XD9-PA' }),
  })
  .meta({ id: 'VerifyDocumentBody' });

export const PublicFactsSchema = z
  .object({
    title: z.string(),
    applicationType: z.string(),
    studentName: z.string().meta({ description: '已遮挡的姓名，如 张*明' }),
    fromSchool: z.string(),
    toSchool: z.string().nullable(),
    effectiveDate: z.string(),
    statusAtIssue: z.string(),
    decisions: z.array(z.object({ stage: z.string(), org: z.string(), result: z.string(), date: z.string() })),
    issuedAt: z.string(),
    issuedBy: z.string(),
  })
  .meta({ id: 'PublicDocumentFacts' });

export const VerifyDocumentResultSchema = z
  .object({
    status: z.enum(['VALID', 'REVOKED']).meta({ description: 'VALID：有效；REVOKED：已作废' }),
    kind: DocumentKindSchema,
    revokedAt: z.string().nullable(),
    facts: PublicFactsSchema,
  })
  .meta({ id: 'VerifyDocumentResult' });
