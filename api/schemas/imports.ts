import { z, ProblemSchema } from './common';

export const ImportQuerySchema = z.object({
  dryRun: z
    .enum(['true', 'false', '1', '0'], { error: 'dryRun 应为 true 或 false' })
    .optional()
    .transform((v) => v === 'true' || v === '1')
    .meta({ description: 'true：只检查，不写入' }),
});

export const ImportUploadBodySchema = z
  .object({
    file: z.string().meta({
      format: 'binary',
      description: '.xlsx 或 CSV（UTF-8，或 Excel 另存的 GBK），第一行为表头（中文或英文列名）',
    }),
  })
  .meta({ id: 'ImportUpload' });

export const RefusalSchema = z
  .object({
    row: z.number().int().meta({ description: '表格中的行号（表头为第 1 行）' }),
    field: z.string().meta({ description: '列（字段名，如 idNumber）' }),
    message: z.string(),
  })
  .meta({ id: 'ImportRefusal' });

export const ImportResultSchema = z
  .object({
    imported: z.number().int().meta({ description: '写入的行数（检查模式或有错误时为 0）' }),
    valid: z.number().int().meta({ description: '检查通过的行数' }),
    refused: z.array(RefusalSchema),
    dryRun: z.boolean(),
  })
  .meta({ id: 'ImportResult' });

export const ImportRefusedSchema = ProblemSchema.extend(ImportResultSchema.shape).meta({
  id: 'ImportRefused',
  description: 'problem+json：有行被拒绝，未导入任何数据；refused 列出每个有误的行、列和原因',
});
