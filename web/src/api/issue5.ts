import type { components } from '../generated/api';

// The administrator's overdue/stuck contract of issue 5, written down here while the backend for it is
// being built: the API document does not describe these yet. Once api/openapi.ts registers them, the
// generated types take over and this file can go (the intersection with `paths` stays valid meanwhile).

type Application = components['schemas']['Application'];
type OrgRef = components['schemas']['OrgRef'];

/** Fields the stuck-case list gains with issue 5; absent before, so every one is optional here. */
export interface StuckExtras {
  dueDate?: string | null;
  dueProvisional?: boolean;
  remindersSent?: number;
  lastRemindedAt?: string | null;
  escalated?: boolean;
  escalatedAt?: string | null;
  escalatedTo?: OrgRef | 'ADMIN' | null;
  technical?: {
    activityType: string;
    attempt: number;
    lastFailure: string | null;
    lastAttemptAt: string | null;
    nextAttemptAt: string | null;
  } | null;
}
export type StuckCase = components['schemas']['StuckCase'] & StuckExtras;

/** Step and case fields of issue 5 (due date provisional beyond the loaded holiday calendar, overdue, escalated). */
export type StepExtras = { dueProvisional?: boolean };
export type ApplicationExtras = { overdue?: boolean; escalated?: boolean };

interface Post<Body, Result> {
  parameters: { query?: never; header?: never; path: { id: number }; cookie?: never };
  requestBody: { content: { 'application/json': Body } };
  responses: {
    200: { headers: Record<string, unknown>; content: { 'application/json': Result } };
    default: {
      headers: Record<string, unknown>;
      content: { 'application/problem+json': components['schemas']['Problem'] };
    };
  };
}
interface PathItem<Op> {
  parameters: { query?: never; header?: never; path?: never; cookie?: never };
  get?: never;
  put?: never;
  post: Op;
  delete?: never;
  options?: never;
  head?: never;
  patch?: never;
  trace?: never;
}

export interface Issue5Paths {
  /** Send the holder a reminder mail now. */
  '/api/admin/applications/{id}/remind': PathItem<Post<Record<string, never>, { remindersSent: number }>>;
  /** Move the due date of a stage, with a reason (at least 5 characters). */
  '/api/admin/applications/{id}/extend': PathItem<
    Post<{ stage: components['schemas']['Stage']; dueDate: string; reason: string }, Application>
  >;
}
