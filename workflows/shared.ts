// What both workflow bodies (lean.ts, legacy.ts) share. Pure: part of the workflow bundle.
import { ApplicationFailure } from '@temporalio/workflow';
import { findDirtyText } from '../domain/text';
import type { ApplicationStatus } from '../domain/types';
import { Rejection, type RejectionType } from './messages';

export const NON_RETRYABLE = ['ApplicationMissingError', 'InvariantViolationError'];

export const CLOSED: readonly ApplicationStatus[] = ['APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED'];

/** Refuses an Update (or fails one after acceptance) with a type the API maps to an HTTP status. */
export function reject(type: RejectionType, message: string, path?: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true, ...(path ? { details: [{ path }] } : {}) });
}

/**
 * Text the activity would refuse never changes the workflow's state: the same rule as the API's (domain/text.ts),
 * checked again in the validators, naming the field.
 */
export function assertCleanText(fields: Record<string, unknown>): void {
  const hit = findDirtyText(fields);
  if (hit) reject(Rejection.InvalidText, `${hit.path.join('.')}：${hit.message}`, hit.path.join('.'));
}
