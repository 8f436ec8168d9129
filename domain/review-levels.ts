// Review levels above the county (地市, 省) that a province adds to a change type's chain (DESIGN §5 "Contract
// extensions"). Which levels review is a setting (settings/review-levels.json, infra/review-levels.ts reads it); by
// default none is added. Pure: the chain is composed when a case is filed and stored with it, so changing the
// settings never alters a case in flight.

export const REVIEW_LEVELS = ['CITY', 'PROVINCE'] as const;
export type ReviewLevel = (typeof REVIEW_LEVELS)[number];

/** How far a transfer goes: decides which of a province's entries applies (within one county: none). */
export const REVIEW_SCOPES = ['sameCity', 'sameProvince', 'twoProvinces'] as const;
export type ReviewScope = (typeof REVIEW_SCOPES)[number];

/**
 * Per province (the first two digits of its GB/T 2260 code) and change type, per scope, the levels that review on
 * that province's side of the case: the receiving province's entry governs the receiving side, the sending
 * province's the sending side.
 */
export interface ReviewLevelSettings {
  provinces: Record<string, Record<string, Partial<Record<ReviewScope, ReviewLevel[]>>>>;
}

export const NO_REVIEW_LEVELS: ReviewLevelSettings = { provinces: {} };

/** GB/T 2260: a county's code is 6 digits, the first 4 its city's, the first 2 its province's. */
export const cityOf = (countyCode: string) => countyCode.slice(0, 4);
export const provinceOf = (countyCode: string) => countyCode.slice(0, 2);

export function scopeOf(fromCounty: string, toCounty: string): ReviewScope | null {
  if (fromCounty === toCounty) return null;
  if (cityOf(fromCounty) === cityOf(toCounty)) return 'sameCity';
  if (provinceOf(fromCounty) === provinceOf(toCounty)) return 'sameProvince';
  return 'twoProvinces';
}

/** The levels each side adds, in the national order (city, then province). */
export function levelsFor(
  settings: ReviewLevelSettings,
  type: string,
  fromCounty: string,
  toCounty: string,
): { receiving: ReviewLevel[]; sending: ReviewLevel[] } {
  const scope = scopeOf(fromCounty, toCounty);
  const side = (county: string) => {
    if (!scope) return [];
    const wanted = settings.provinces[provinceOf(county)]?.[type]?.[scope] ?? [];
    return REVIEW_LEVELS.filter((l) => wanted.includes(l));
  };
  return { receiving: side(toCounty), sending: side(fromCounty) };
}
