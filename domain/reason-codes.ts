import type { ChangeType } from './types';

/** One coded reason of a change type (异动原因代码), as the national system lists them. */
export interface ReasonCode {
  code: string;
  label: string;
}

/** Per change type, the reasons a clerk picks from (settings/reason-codes.json); an empty list asks for none. */
export type ReasonCodes = Record<ChangeType, ReasonCode[]>;

/** "01 随父母工作调动", or the code alone when the list no longer has it (an old case). */
export function reasonCodeLabel(codes: ReasonCodes, type: ChangeType, code: string | null): string | null {
  if (!code) return null;
  return codes[type]?.find((c) => c.code === code)?.label ?? code;
}
