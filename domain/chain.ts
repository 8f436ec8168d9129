import type { ChangeType, SchoolRef, Stage } from './types';

export interface ChainStep {
  stage: Stage;
  orgCode: string;
}

/**
 * The transfer chain as the national system runs it: receiving school → receiving county →
 * sending school → sending county. Within one county the bureau acts once (as RECEIVING_COUNTY),
 * so SENDING_COUNTY is skipped and the chain has three stages.
 */
export function transferChain(from: SchoolRef, to: SchoolRef): ChainStep[] {
  const chain: ChainStep[] = [
    { stage: 'RECEIVING_SCHOOL', orgCode: to.code },
    { stage: 'RECEIVING_COUNTY', orgCode: to.countyCode },
    { stage: 'SENDING_SCHOOL', orgCode: from.code },
  ];
  if (from.countyCode !== to.countyCode) chain.push({ stage: 'SENDING_COUNTY', orgCode: from.countyCode });
  return chain;
}

/** Every other change is approved by the pupil's school, then its county bureau. */
export function statusChangeChain(school: SchoolRef): ChainStep[] {
  return [
    { stage: 'SCHOOL', orgCode: school.code },
    { stage: 'COUNTY', orgCode: school.countyCode },
  ];
}

export function buildChain(type: ChangeType, pupilSchool: SchoolRef, toSchool?: SchoolRef | null): ChainStep[] {
  if (type === 'TRANSFER') {
    if (!toSchool) throw new Error('a transfer needs a receiving school');
    return transferChain(pupilSchool, toSchool);
  }
  return statusChangeChain(pupilSchool);
}
