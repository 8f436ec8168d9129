import type { Pool } from 'pg';
import { transaction } from '../infra/sql';
import type { MailKind } from '../infra/mail-templates';
import type { ApplicationStatus, Decision, Stage } from '../domain/types';
import { lockCase } from './cases';
import { decisionMails, TO_ADMINS, type MailSpec, type Outbox } from './outbox';

export interface NotifyDeps {
  pool: Pool;
  outbox: Outbox;
}

export interface NotifyInput {
  applicationId: number;
  round: number;
  /** The stage the mail is about; 'END' for the closing notice. */
  stage: Stage | 'END';
  kind: MailKind;
  /** The reminder's or escalation's number within the stage (one outbox key each). */
  n?: number;
  /** kind 'decision': what was decided, by which organisation, and the stage that holds the case now. */
  decision?: { decision: Decision; comment: string | null; orgCode: string; nextStage: Stage | null };
  /** kind 'finished': how the case ended, and why (withdrawn, cancelled). */
  finished?: { status: Exclude<ApplicationStatus, 'IN_REVIEW' | 'RETURNED'>; reason: string | null };
}

export interface NotifyResult {
  /** Rows written to the outbox now (0: already there, or nobody to tell). */
  queued: number;
}

/**
 * `notify` is what cases started before the lean workflow (v4 histories: one activity per mail) still call. Mail now
 * goes into the outbox in the same transaction as the change it announces, so for those cases this finds its row
 * there already (same key) and adds nothing; it writes the row itself only where the change's transaction did not,
 * and never sends: the dispatcher does. Kept so that cases in flight finish on the new worker.
 */
export function createNotifyActivities({ pool, outbox }: NotifyDeps) {
  async function notify(input: NotifyInput): Promise<NotifyResult> {
    return transaction(pool, async (tx) => {
      const app = await lockCase(tx, input.applicationId, input.round);
      const step = input.stage === 'END' ? null : (app.steps.find((s) => s.stage === input.stage) ?? null);
      let mails: MailSpec[] = [];
      switch (input.kind) {
        case 'task':
          if (step)
            mails = [{ kind: 'task', round: input.round, stage: step.stage, target: step.orgCode, dueAt: step.dueAt }];
          break;
        case 'reminder':
          if (step) {
            mails = [
              {
                kind: 'reminder',
                round: input.round,
                stage: step.stage,
                n: input.n,
                target: step.orgCode,
                dueAt: step.dueAt ?? new Date(),
              },
            ];
          }
          break;
        case 'escalation':
          if (step) {
            mails = [
              {
                kind: 'escalation',
                round: input.round,
                stage: step.stage,
                n: input.n,
                target: step.escalatedTo ?? TO_ADMINS,
                dueAt: step.dueAt ?? new Date(),
                holderOrgCode: step.orgCode,
              },
            ];
          }
          break;
        case 'decision':
          if (step && input.decision) {
            mails = decisionMails({
              applicantOrgCode: app.applicantOrgCode,
              round: input.round,
              stage: step.stage,
              deciderOrgCode: input.decision.orgCode,
              decision: input.decision.decision,
              comment: input.decision.comment,
              next: null,
              finalStatus: null,
            });
          }
          break;
        case 'finished':
          if (input.finished) {
            mails = [
              {
                kind: 'finished',
                round: input.round,
                stage: 'END',
                target: app.applicantOrgCode,
                status: input.finished.status,
                reason: input.finished.reason,
              },
            ];
          }
          break;
      }
      return { queued: await outbox.enqueue(tx, app, mails) };
    });
  }

  return { notify };
}
