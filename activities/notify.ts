import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import {
  decisionMail,
  escalationMail,
  finishedMail,
  mailKey,
  reminderMail,
  taskMail,
  type CaseSummary,
  type MailContent,
  type MailKind,
} from '../infra/mail-templates';
import type { ApplicationStatus, Decision, Stage } from '../domain/types';
import { ApplicationMissingError } from './errors';
import type { SendMailInput, SendMailResult } from './mail';
import { TO_ADMINS } from './deadlines';

export interface NotifyDeps {
  prisma: PrismaClient;
  logger: Logger;
  sendMail: (input: SendMailInput) => Promise<SendMailResult>;
  /** The web console's address, for the link in each mail (…/applications/<id>); absent: "log in to see it". */
  appUrl?: string;
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
  /** How many addresses the mail went to; 0: nobody to tell (no addresses on record), nothing sent. */
  recipients: number;
  sent: boolean;
}

/**
 * Tells people about a case by mail, through the idempotent outbox (sendMail): the holder organisation when a stage
 * reaches it and when it is overdue, the organisation above it on escalation, the applicant school on every decision
 * and at the end. Recipients are the organisation's own address and its active users' addresses; an escalation past
 * a county bureau goes to the active administrators. An organisation without any address is logged and skipped:
 * mail helps, it never holds a case up.
 */
/**
 * Heartbeats while `work` runs, when called as an activity: with the workflow's heartbeat timeout, a worker that
 * dies mid-send is noticed in seconds rather than after the whole start-to-close timeout.
 */
function keepAlive<T>(work: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work(); // called directly (tests, scripts)
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), 2_000);
  return work().finally(() => clearInterval(timer));
}

export function createNotifyActivities({ prisma, logger, sendMail, appUrl }: NotifyDeps) {
  async function addressesOf(target: string): Promise<string[]> {
    if (target === TO_ADMINS) {
      const admins = await prisma.user.findMany({
        where: { role: 'ADMIN', active: true, email: { not: null } },
        select: { email: true },
      });
      return admins.map((u) => u.email!);
    }
    const org = await prisma.organisation.findUnique({
      where: { code: target },
      select: { email: true, users: { where: { active: true, email: { not: null } }, select: { email: true } } },
    });
    if (!org) return [];
    return [org.email, ...org.users.map((u) => u.email)].filter((e): e is string => !!e);
  }

  const orgName = async (code: string | null) =>
    code ? ((await prisma.organisation.findUnique({ where: { code }, select: { name: true } }))?.name ?? code) : '';

  const notify = (input: NotifyInput): Promise<NotifyResult> => keepAlive(() => send(input));

  async function send(input: NotifyInput): Promise<NotifyResult> {
    const app = await prisma.application.findUnique({
      where: { id: input.applicationId },
      include: { student: { select: { name: true } } },
    });
    if (!app) throw new ApplicationMissingError(input.applicationId);
    const step =
      input.stage === 'END'
        ? null
        : await prisma.applicationStep.findUnique({
            where: {
              applicationId_round_stage: { applicationId: app.id, round: input.round, stage: input.stage },
            },
          });
    const summary: CaseSummary = {
      id: app.id,
      type: app.type,
      pupil: app.student,
      ...(appUrl ? { link: `${appUrl.replace(/\/$/, '')}/applications/${app.id}` } : {}),
    };

    let target: string;
    let content: MailContent;
    switch (input.kind) {
      case 'task':
      case 'reminder': {
        if (!step || input.stage === 'END') throw new Error(`${input.kind} mail needs a stage`);
        target = step.orgCode;
        const name = await orgName(step.orgCode);
        content =
          input.kind === 'task'
            ? taskMail({ case: summary, stage: input.stage, orgName: name, dueAt: step.dueAt })
            : reminderMail({ case: summary, stage: input.stage, orgName: name, dueAt: step.dueAt ?? new Date() });
        break;
      }
      case 'escalation': {
        if (!step || input.stage === 'END') throw new Error('escalation mail needs a stage');
        target = step.escalatedTo ?? TO_ADMINS;
        content = escalationMail({
          case: summary,
          stage: input.stage,
          dueAt: step.dueAt ?? new Date(),
          orgName: await orgName(step.orgCode),
          supervisorName: target === TO_ADMINS ? '系统管理员' : await orgName(target),
        });
        break;
      }
      case 'decision': {
        if (!input.decision || input.stage === 'END') throw new Error('decision mail needs the decision');
        target = app.applicantOrgCode;
        content = decisionMail({
          case: summary,
          stage: input.stage,
          decision: input.decision.decision,
          orgName: await orgName(input.decision.orgCode),
          comment: input.decision.comment,
          nextStage: input.decision.nextStage,
        });
        break;
      }
      case 'finished': {
        if (!input.finished) throw new Error('finished mail needs the outcome');
        target = app.applicantOrgCode;
        content = finishedMail({ case: summary, status: input.finished.status, reason: input.finished.reason });
        break;
      }
    }

    const to = await addressesOf(target);
    const key = mailKey({
      applicationId: app.id,
      round: input.round,
      stage: input.stage,
      kind: input.kind,
      ...(input.n !== undefined ? { n: input.n } : {}),
    });
    if (to.length === 0) {
      logger.warn({ key, target }, 'mail skipped: no address on record');
      return { recipients: 0, sent: false };
    }
    const r = await sendMail({ key, applicationId: app.id, kind: input.kind, to, ...content });
    return { recipients: to.length, sent: r.sent };
  }

  return { notify };
}
