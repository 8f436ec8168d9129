import { deceased } from './deceased';
import { dropOut } from './drop-out';
import { repeatGrade } from './repeat-grade';
import { resume } from './resume';
import { skipGrade } from './skip-grade';
import type { ChangeTypeSpec } from './spec';
import { studyAbroad } from './study-abroad';
import { suspend } from './suspend';
import { transfer } from './transfer';

/** Each key must be its spec's code. */
const registry = <T extends { [K in keyof T]: ChangeTypeSpec<K & string> }>(specs: T): T => specs;

/**
 * Every change type, in the order the console lists them. Adding a type: a file in this folder, a line here, its
 * reasons in settings/reason-codes.json (optional). The ChangeType union is derived from this object, so the compiler
 * names every place that must know the new type; nothing else changes (no migration: the type is stored as text).
 * This module is data only: index.ts derives the rest, so a test may replace it (jest.mock) to add a type.
 */
export const CHANGE_TYPE_SPECS = registry({
  TRANSFER: transfer,
  SUSPEND: suspend,
  RESUME: resume,
  REPEAT_GRADE: repeatGrade,
  SKIP_GRADE: skipGrade,
  DROP_OUT: dropOut,
  STUDY_ABROAD: studyAbroad,
  DECEASED: deceased,
});
