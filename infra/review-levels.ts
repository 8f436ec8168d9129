import path from 'node:path';
import { z } from 'zod';
import { CHANGE_TYPES, specOf } from '../domain/change-types';
import { REVIEW_LEVELS, REVIEW_SCOPES, type ReviewLevelSettings } from '../domain/review-levels';
import { readSettingsFile } from './settings-file';

const levels = z.array(z.enum(REVIEW_LEVELS)).refine((l) => new Set(l).size === l.length, '审核层级重复');
const byScope = z.object(Object.fromEntries(REVIEW_SCOPES.map((s) => [s, levels.optional()]))).strict();
const byType = z.record(z.string(), byScope).superRefine((types, ctx) => {
  for (const t of Object.keys(types)) {
    if (!(CHANGE_TYPES as string[]).includes(t)) {
      ctx.addIssue({ code: 'custom', path: [t], message: `没有异动类型 ${t}` });
    } else if (specOf(t).applicant !== 'receivingSchool' && Object.values(types[t]).some((l) => l && l.length)) {
      // Only a chain with a receiving and a sending side (转学) has places for the added levels.
      ctx.addIssue({ code: 'custom', path: [t], message: '只有转学可以增加地市、省审核层级' });
    }
  }
});
const ReviewLevelsSchema = z
  .object({
    provinces: z
      .record(z.string().regex(/^\d{2}$/, '省级行政区划代码应为 2 位数字（GB/T 2260 前两位）'), byType)
      .default({}),
  })
  .strict();

export const DEFAULT_REVIEW_LEVELS_FILE = path.resolve(__dirname, '..', 'settings', 'review-levels.json');

/**
 * Reads which review levels above the county each province adds, per change type and how far a transfer goes; a bad
 * file stops start-up with the bad entry named (`provinces.52.TRANSFER.twoProvinces.0: …`).
 */
export function loadReviewLevels(file: string = DEFAULT_REVIEW_LEVELS_FILE): ReviewLevelSettings {
  return readSettingsFile(
    file,
    ReviewLevelsSchema,
    '审核层级设置文件有误 (invalid review levels file)',
  ) as ReviewLevelSettings;
}
