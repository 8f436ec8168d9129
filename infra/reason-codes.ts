import path from 'node:path';
import { z } from 'zod';
import { textError } from '../domain/text';
import type { ReasonCodes } from '../domain/reason-codes';
import { CHANGE_TYPES } from '../domain/types';
import { readSettingsFile } from './settings-file';

const entry = z
  .object({
    code: z.string().regex(/^[0-9A-Z]{1,4}$/, '代码应为 1–4 位数字或大写字母'),
    label: z
      .string()
      .min(1, '名称不能为空')
      .max(30, '名称最多 30 个字')
      .refine((s) => !textError(s), '名称含有不可见字符'),
  })
  .strict();

const list = z.array(entry).superRefine((items, ctx) => {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.code)) ctx.addIssue({ code: 'custom', path: [i, 'code'], message: `代码 ${item.code} 重复` });
    seen.add(item.code);
  });
});

const ReasonCodesSchema = z
  .object(
    Object.fromEntries(CHANGE_TYPES.map((t) => [t, list.default([])])) as Record<
      (typeof CHANGE_TYPES)[number],
      z.ZodDefault<typeof list>
    >,
  )
  .strict();

export const DEFAULT_REASON_CODES_FILE = path.resolve(__dirname, '..', 'settings', 'reason-codes.json');

/**
 * Reads the coded reasons per change type; a bad file stops start-up with the bad entry named
 * (`TRANSFER.2.code: 代码 01 重复`), like the province rules.
 */
export function loadReasonCodes(file: string = DEFAULT_REASON_CODES_FILE): ReasonCodes {
  return readSettingsFile(file, ReasonCodesSchema, '异动原因代码文件有误 (invalid reason codes file)') as ReasonCodes;
}
