// The approval chains are each change type's own (domain/change-types/<type>.ts); this module keeps the names the
// rest of the code imports.
import { buildChain as chainOf, type ChainStep } from './change-types';
import type { ChangeType, SchoolRef } from './types';

export type { ChainStep } from './change-types';

/** The chain of a new case of this type: `toSchool` is the receiving school, for a type the receiving school files. */
export function buildChain(type: ChangeType, pupilSchool: SchoolRef, toSchool?: SchoolRef | null): ChainStep[] {
  return chainOf(type, { pupilSchool, receivingSchool: toSchool ?? null });
}
