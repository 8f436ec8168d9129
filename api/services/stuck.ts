import type { PrismaClient } from '../../infra/db';
import { OPEN_STATUSES } from '../../domain/types';
import { TO_ADMINS } from '../../activities/outbox';
import type { OrgDirectory } from './applications';
import type { PredictionService } from './prediction';
import { shanghaiDate } from '../../domain/calendar';

const HOUR = 3_600_000;
/** A case whose workflow has not started this long after filing is stuck (the reconciler runs every few seconds). */
const NOT_STARTED_AFTER_MS = 60_000;

export type StuckKind = 'all' | 'overdue' | 'technical';

/** An activity (or a mail) that keeps failing, as the worker recorded it. */
export interface FailingActivity {
  activityType: string;
  /** The attempt under way or next: 2 means it failed once. */
  attempt: number;
  lastFailure: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * The failures the worker recorded (DESIGN §5): failing activities, local ones included (ActivityFailure, written by
 * activities/failures.ts), and mail the dispatcher could not send (MailOutbox rows with an error), by case.
 */
async function recordedFailures(prisma: PrismaClient): Promise<Map<number, FailingActivity[]>> {
  const [activities, mails] = await Promise.all([
    prisma.activityFailure.findMany({
      where: { applicationId: { not: null } },
      orderBy: { lastAttemptAt: 'desc' },
      take: 1000,
    }),
    prisma.mailOutbox.findMany({
      where: { sentAt: null, lastError: { not: null }, applicationId: { not: null } },
      select: { applicationId: true, attempts: true, lastError: true, nextAttemptAt: true, createdAt: true },
      orderBy: { id: 'asc' },
      take: 1000,
    }),
  ]);
  const found = new Map<number, FailingActivity[]>();
  const add = (id: number, f: FailingActivity) => found.set(id, [...(found.get(id) ?? []), f]);
  for (const a of activities) {
    add(a.applicationId!, {
      activityType: a.activityType,
      attempt: a.attempt + 1,
      lastFailure: a.lastError,
      lastAttemptAt: iso(a.lastAttemptAt),
      nextAttemptAt: iso(a.nextAttemptAt),
    });
  }
  for (const m of mails) {
    add(m.applicationId!, {
      activityType: 'sendMail',
      attempt: m.attempts + 1,
      lastFailure: m.lastError,
      lastAttemptAt: null,
      nextAttemptAt: iso(m.nextAttemptAt),
    });
  }
  return found;
}

/**
 * The administrator's stuck-case view: open cases with their time limit and what the timers did (overdue,
 * reminders, escalation), and cases with a technical fault — an activity or a mail that keeps failing, as the worker
 * recorded it, or a workflow that never started. All from Postgres: it needs no call to Temporal (and so still works
 * when Temporal is down; `technicalUnavailable` stays in the answer for older clients and is always false).
 */
export async function loadStuck(
  deps: { prisma: PrismaClient; orgs: OrgDirectory; predictions?: PredictionService },
  q: { kind: StuckKind; limit: number },
  nowMs = Date.now(),
) {
  const { prisma, orgs } = deps;
  const failing = q.kind === 'overdue' ? new Map<number, FailingActivity[]>() : await recordedFailures(prisma);
  const technicalUnavailable = false;
  const notStartedBefore = new Date(nowMs - NOT_STARTED_AFTER_MS);
  const now = new Date(nowMs);
  const technicalWhere = {
    OR: [{ id: { in: [...failing.keys()] } }, { workflowStartedAt: null, createdAt: { lt: notStartedBefore } }],
  };
  const overdueWhere = {
    status: 'IN_REVIEW' as const,
    steps: { some: { decision: null, openedAt: { not: null }, dueAt: { lt: now } } },
  };
  const find = (where: object, take: number, exclude: number[] = []) =>
    take <= 0
      ? Promise.resolve([])
      : prisma.application.findMany({
          where: exclude.length ? { AND: [where, { id: { notIn: exclude } }] } : where,
          include: { steps: true, student: { select: { name: true } } },
          orderBy: { createdAt: 'asc' },
          take,
        });
  // Faults first, so a recent fault is never cut off behind thousands of older open cases.
  const technical = q.kind === 'overdue' ? [] : await find(technicalWhere, q.limit);
  const rest =
    q.kind === 'technical'
      ? []
      : await find(
          q.kind === 'overdue' ? overdueWhere : { status: { in: OPEN_STATUSES } },
          q.limit - technical.length,
          technical.map((a) => a.id),
        );
  const rows = [...technical, ...rest];

  // The predictions of the whole list at once (one read of the durations, no query per case).
  const predictions = deps.predictions ? await deps.predictions.forCases(rows, nowMs) : rows.map(() => null);
  const items = await Promise.all(
    rows.map(async (a, i) => {
      const step = a.steps.find((s) => s.round === a.round && s.stage === a.currentStage && !s.decision);
      const dueAt = a.status === 'IN_REVIEW' ? (step?.dueAt ?? null) : null;
      const activities = failing.get(a.id) ?? [];
      const notStarted = !a.workflowStartedAt && a.createdAt < notStartedBefore;
      const escalatedTo = step?.escalatedAt ? (step.escalatedTo ?? null) : null;
      const prediction = predictions[i];
      const overdue = dueAt !== null && dueAt.getTime() < nowMs;
      return {
        id: a.id,
        type: a.type,
        // The pupil's name: "转学" alone is not a case an administrator can tell apart (no 学籍号 here).
        student: { name: a.student.name },
        status: a.status,
        currentStage: a.currentStage,
        holder: await orgs.ref(a.currentOrgCode),
        createdAt: a.createdAt.toISOString(),
        ageHours: round1((nowMs - a.createdAt.getTime()) / HOUR),
        stageSince: step?.openedAt?.toISOString() ?? null,
        hoursInStage: step?.openedAt ? round1((nowMs - step.openedAt.getTime()) / HOUR) : null,
        dueAt: dueAt?.toISOString() ?? null,
        dueProvisional: dueAt ? (step?.dueProvisional ?? false) : false,
        overdue,
        overdueHours: dueAt !== null && dueAt.getTime() < nowMs ? round1((nowMs - dueAt.getTime()) / HOUR) : null,
        remindersSent: step?.remindersSent ?? 0,
        lastRemindedAt: step?.lastRemindedAt?.toISOString() ?? null,
        escalated: escalatedTo !== null,
        escalatedAt: step?.escalatedAt?.toISOString() ?? null,
        escalatedTo:
          escalatedTo === null
            ? null
            : escalatedTo === TO_ADMINS
              ? { code: TO_ADMINS, name: '系统管理员' }
              : await orgs.ref(escalatedTo),
        workflowStarted: a.workflowStartedAt !== null,
        technical: activities.length > 0 || notStarted,
        failingActivities: activities,
        prediction,
        // The early warning: not overdue yet, but the stage is more likely than not to be decided after its due day.
        predictedOverdue:
          !overdue &&
          dueAt !== null &&
          prediction !== null &&
          prediction.currentStage.p50 > shanghaiDate(dueAt.getTime()),
      };
    }),
  );
  // Technical faults first (nothing moves until they are fixed), then escalated, overdue, predicted to be overdue,
  // each oldest first.
  const rank = (i: (typeof items)[number]) =>
    i.technical ? 0 : i.escalated ? 1 : i.overdue ? 2 : i.predictedOverdue ? 3 : 4;
  items.sort((x, y) => rank(x) - rank(y) || x.createdAt.localeCompare(y.createdAt));
  return { items, technicalUnavailable };
}
