// Mail is written, never sent, by the transaction that changes a case (DESIGN §5 "Mail"): the rows land in
// MailOutbox exactly when the decision, reminder or closing they announce does, and the dispatcher
// (infra/mail-dispatcher.ts) sends them afterwards, outside any transaction. One outbox key, at most one row.
import type { Logger } from 'pino';
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
import { MAIL_CHANNEL } from '../infra/mail-dispatcher';
import type { ApplicationStatus, ChangeType, Decision, Stage } from '../domain/types';
import { TtlCache } from '../infra/ttl-cache';
import type { Tx } from './cases';

/** 'ADMIN' as a mail target or escalation target: the active administrators. */
export const TO_ADMINS = 'ADMIN';

/** The case a mail is about, as the templates need it. */
export interface MailCase {
  id: number;
  type: ChangeType;
  pupilName: string;
  applicantOrgCode: string;
  /** 纠错: the case this one reverses. */
  reversesId?: number | null;
}

/** One mail to write: about which stage (or 'END'), of which kind, to which organisation (or TO_ADMINS). */
export type MailSpec = { round: number; n?: number; target: string } & (
  | { kind: 'task'; stage: Stage; dueAt: Date | null }
  | { kind: 'reminder'; stage: Stage; dueAt: Date }
  | { kind: 'escalation'; stage: Stage; dueAt: Date; holderOrgCode: string }
  | {
      kind: 'decision';
      stage: Stage;
      decision: Decision;
      comment: string | null;
      deciderOrgCode: string;
      nextStage: Stage | null;
    }
  | {
      kind: 'finished';
      stage: 'END';
      status: Exclude<ApplicationStatus, 'IN_REVIEW' | 'RETURNED'>;
      reason: string | null;
    }
);

/**
 * Names and addresses for mail, read inside the caller's transaction on a miss and kept a few seconds: a decision's
 * mails then cost no statement of their own on a busy day. Addresses for 5 s (a user disabled stops getting mail
 * within 5 s), organisation names for a minute.
 */
export class MailDirectory {
  private readonly addresses = new TtlCache<string, string[]>(5_000);
  private readonly names = new TtlCache<string, string>(60_000);

  async addressesOf(tx: Tx, target: string): Promise<string[]> {
    return this.addresses.get(target, async () => {
      if (target === TO_ADMINS) {
        const admins = await tx.$queryRaw<{ email: string }[]>`
          select email from "User" where role = 'ADMIN' and active and email is not null order by id`;
        return admins.map((u) => u.email);
      }
      const [org] = await tx.$queryRaw<{ email: string | null; users: string[] }[]>`
        select o.email,
               array(select u.email from "User" u
                      where u."orgCode" = o.code and u.active and u.email is not null order by u.id) as users
          from "Organisation" o where o.code = ${target}`;
      if (!org) return [];
      return [org.email, ...org.users].filter((e): e is string => !!e);
    });
  }

  async nameOf(tx: Tx, code: string): Promise<string> {
    if (code === TO_ADMINS) return '系统管理员';
    return this.names.get(code, async () => {
      const [org] = await tx.$queryRaw<{ name: string }[]>`select name from "Organisation" where code = ${code}`;
      return org?.name ?? code;
    });
  }
}

export interface OutboxDeps {
  logger: Logger;
  directory: MailDirectory;
  /** The web console's address, for the link in each mail (…/applications/<id>). */
  appUrl?: string;
}

/** Writes mails into the outbox inside the caller's transaction, and wakes the dispatchers when it commits. */
export function createOutbox({ logger, directory, appUrl }: OutboxDeps) {
  async function render(tx: Tx, c: MailCase, m: MailSpec): Promise<MailContent> {
    const summary: CaseSummary = {
      id: c.id,
      type: c.type,
      pupil: { name: c.pupilName },
      ...(c.reversesId ? { reverses: c.reversesId } : {}),
      ...(appUrl ? { link: `${appUrl.replace(/\/$/, '')}/applications/${c.id}` } : {}),
    };
    switch (m.kind) {
      case 'task':
        return taskMail({
          case: summary,
          stage: m.stage,
          orgName: await directory.nameOf(tx, m.target),
          dueAt: m.dueAt,
        });
      case 'reminder':
        return reminderMail({
          case: summary,
          stage: m.stage,
          orgName: await directory.nameOf(tx, m.target),
          dueAt: m.dueAt,
        });
      case 'escalation':
        return escalationMail({
          case: summary,
          stage: m.stage,
          dueAt: m.dueAt,
          orgName: await directory.nameOf(tx, m.holderOrgCode),
          supervisorName: await directory.nameOf(tx, m.target),
        });
      case 'decision':
        return decisionMail({
          case: summary,
          stage: m.stage,
          decision: m.decision,
          orgName: await directory.nameOf(tx, m.deciderOrgCode),
          comment: m.comment,
          nextStage: m.nextStage,
        });
      case 'finished':
        return finishedMail({ case: summary, status: m.status, reason: m.reason });
    }
  }

  /**
   * Adds the mails (an existing key is left as it is: a retried activity writes nothing twice) and notifies the
   * dispatchers, whose LISTEN fires when this transaction commits. A target with no address on record is skipped.
   */
  async function enqueue(tx: Tx, c: MailCase, mails: MailSpec[]): Promise<number> {
    const rows: ({ key: string; applicationId: number; kind: string; toAddresses: string[] } & MailContent)[] = [];
    for (const m of mails) {
      const key = mailKey({ applicationId: c.id, round: m.round, stage: m.stage, kind: m.kind as MailKind, n: m.n });
      const to = await directory.addressesOf(tx, m.target);
      if (to.length === 0) {
        logger.warn({ key, target: m.target }, 'mail skipped: no address on record');
        continue;
      }
      rows.push({ key, applicationId: c.id, kind: m.kind, toAddresses: to, ...(await render(tx, c, m)) });
    }
    if (rows.length === 0) return 0;
    // One statement: the rows, and the notification when any was new.
    const [{ n }] = await tx.$queryRaw<{ n: number }[]>`
      with added as (
        insert into "MailOutbox" (key, "applicationId", kind, "toAddresses", subject, text, html, "createdAt",
                                  "nextAttemptAt")
        select m.key, m."applicationId", m.kind, m."toAddresses", m.subject, m.text, m.html,
               now() at time zone 'UTC', now() at time zone 'UTC'
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
               as m(key text, "applicationId" int, kind text, "toAddresses" text[], subject text, text text, html text)
        on conflict (key) do nothing
        returning 1),
      counted as (select count(*)::int as n from added)
      select n, (select count(*) from (select pg_notify(${MAIL_CHANNEL}, '') from counted where n > 0) x) as notified
        from counted`;
    return n;
  }

  return { enqueue };
}

export type Outbox = ReturnType<typeof createOutbox>;

/**
 * The mails a decision sends: the result to the applicant (not when the applicant decided its own stage), the case
 * to the next holder (unless that is the applicant), and the closing notice when the decision ends the case.
 */
export function decisionMails(p: {
  applicantOrgCode: string;
  round: number;
  stage: Stage;
  deciderOrgCode: string;
  decision: Decision;
  comment: string | null;
  next: { stage: Stage; orgCode: string; dueAt: Date | null } | null;
  finalStatus: ApplicationStatus | null;
}): MailSpec[] {
  const mails: MailSpec[] = [];
  if (p.deciderOrgCode !== p.applicantOrgCode || p.decision !== 'APPROVE') {
    mails.push({
      kind: 'decision',
      round: p.round,
      stage: p.stage,
      target: p.applicantOrgCode,
      decision: p.decision,
      comment: p.comment,
      deciderOrgCode: p.deciderOrgCode,
      nextStage: p.next?.stage ?? null,
    });
  }
  if (p.next && p.next.orgCode !== p.applicantOrgCode) {
    mails.push({ kind: 'task', round: p.round, stage: p.next.stage, target: p.next.orgCode, dueAt: p.next.dueAt });
  }
  if (p.finalStatus === 'APPROVED' || p.finalStatus === 'REJECTED') {
    mails.push({
      kind: 'finished',
      round: p.round,
      stage: 'END',
      target: p.applicantOrgCode,
      status: p.finalStatus,
      reason: p.decision === 'REJECT' ? p.comment : null,
    });
  }
  return mails;
}
