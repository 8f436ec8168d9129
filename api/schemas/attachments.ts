import { z, serialId } from './common';
import { ApplicationIdParamsSchema } from './applications';

/** What a proof document may be; the type is sniffed from the bytes, never taken from the client. */
export const ATTACHMENT_CONTENT_TYPES = ['application/pdf', 'image/jpeg', 'image/png'] as const;
export type AttachmentContentType = (typeof ATTACHMENT_CONTENT_TYPES)[number];

/** 10 MB: a scanned 转学证明 is well below; a larger file is refused before anything is kept. */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

export const AttachmentParamsSchema = ApplicationIdParamsSchema.extend({
  attachmentId: serialId('附件编号'),
});

export const AttachmentUploadBodySchema = z
  .object({
    file: z.string().meta({ format: 'binary', description: 'PDF、JPEG 或 PNG，至多 10 MB；类型按文件内容判断' }),
  })
  .meta({ id: 'AttachmentUpload' });

export const AttachmentSchema = z
  .object({
    id: z.number().int(),
    fileName: z.string().meta({ description: '上传时的文件名（已去掉路径和控制字符，至多 200 字）' }),
    contentType: z.enum(ATTACHMENT_CONTENT_TYPES).meta({ description: '按文件内容判断的类型' }),
    size: z.number().int().meta({ description: '字节数' }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    uploadedBy: z.string().meta({ description: '上传人' }),
    createdAt: z.string(),
  })
  .meta({ id: 'Attachment' });

export const AttachmentListSchema = z.object({ items: z.array(AttachmentSchema) }).meta({ id: 'AttachmentList' });
