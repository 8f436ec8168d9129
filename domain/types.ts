// Pure types shared by workflows, activities and the API. They mirror the Prisma enums on purpose:
// workflow code may not import the generated client (it pulls in Node built-ins). (Change types are stored as text and
// defined by domain/change-types/ alone.)

// The change types are defined by their specs (domain/change-types/): one file per type, one registry.
export { CHANGE_TYPES, type ChangeType } from './change-types';

export const APPLICATION_STATUSES = [
  'IN_REVIEW',
  'RETURNED',
  'APPROVED',
  'REJECTED',
  'WITHDRAWN',
  'CANCELLED',
] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];
export const OPEN_STATUSES: ApplicationStatus[] = ['IN_REVIEW', 'RETURNED'];
/** Open: in review, or returned to the applicant for correction. */
export const isOpenStatus = (status: string): boolean => (OPEN_STATUSES as string[]).includes(status);

export const STAGES = [
  'RECEIVING_SCHOOL',
  'RECEIVING_COUNTY',
  'SENDING_SCHOOL',
  'SENDING_COUNTY',
  'SCHOOL',
  'COUNTY',
  // Review levels a province may add (domain/review-levels.ts; none by default).
  'RECEIVING_CITY',
  'RECEIVING_PROVINCE',
  'SENDING_CITY',
  'SENDING_PROVINCE',
] as const;
export type Stage = (typeof STAGES)[number];

export const DECISIONS = ['APPROVE', 'REJECT', 'RETURN'] as const;
export type Decision = (typeof DECISIONS)[number];

export const ROLES = ['SCHOOL_CLERK', 'COUNTY_OFFICER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** A school, or an education bureau of a 区县, a 地市 or a 省 (the review levels above the county). */
export const ORG_KINDS = ['SCHOOL', 'COUNTY', 'CITY', 'PROVINCE'] as const;
export type OrgKind = (typeof ORG_KINDS)[number];

export const STUDENT_STATUSES = ['ENROLLED', 'SUSPENDED', 'DROPPED_OUT', 'ABROAD', 'DECEASED'] as const;
export type StudentStatus = (typeof STUDENT_STATUSES)[number];

export const GENDERS = ['MALE', 'FEMALE'] as const;
export type Gender = (typeof GENDERS)[number];

/** A school with the county bureau it belongs to. */
export interface SchoolRef {
  code: string;
  countyCode: string;
}

/** Who is acting: carried into the workflow so the validator can check the organisation. */
export interface Actor {
  userId: number;
  username: string;
  displayName: string;
  role: Role;
  orgCode: string | null;
}
