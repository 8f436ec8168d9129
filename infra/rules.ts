import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_RULES, type ProvinceRules } from '../domain/rules';
import { readSettingsFile } from './settings-file';

const grades = z.array(z.number().int().min(1).max(12));
const RulesSchema = z
  .object({
    noTransferGrades: grades.default(DEFAULT_RULES.noTransferGrades),
    noRepeatGrades: grades.default(DEFAULT_RULES.noRepeatGrades),
    maxSuspendMonths: z.number().int().min(1).max(60).default(DEFAULT_RULES.maxSuspendMonths),
    reversalWindow: z
      .object({ days: z.number().int().min(1).max(365), unit: z.enum(['calendar', 'working']) })
      .strict()
      .default(DEFAULT_RULES.reversalWindow),
  })
  .strict();

export const DEFAULT_RULES_FILE = path.resolve(__dirname, '..', 'settings', 'province-rules.json');

/** Reads the province's rules; a bad file stops start-up with the offending key named. */
export function loadRules(file: string = DEFAULT_RULES_FILE): ProvinceRules {
  return readSettingsFile(file, RulesSchema, '省级规则文件有误 (invalid rules file)');
}
