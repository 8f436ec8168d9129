import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { Client as TemporalClient } from '@temporalio/client';
import type { PrismaClient } from '../../infra/db';
import { OPEN_STATUSES } from '../../domain/types';
import { TO_ADMINS } from '../../activities/deadlines';
import type { OrgDirectory } from './applications';

const HOUR = 3_600_000;
/** How many running workflows one stuck-view request describes at most, and how many at a time. */
const MAX_DESCRIBED = 300;
const DESCRIBE_CONCURRENCY = 8;
/** A case whose workflow has not started this long after filing is stuck (the reconciler runs every few seconds). */
const NOT_STARTED_AFTER_MS = 60_000;

export type StuckKind = 'all' | 'overdue' | 'technical';

/** An activity that keeps failing, from Temporal's pending-activity information. */
export interface FailingActivity {
  activityType: string;
  /** The attempt under way or next: 2 means it failed once. */
  attempt: number;
  lastFailure: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Failing activities of the running workflows on the task queue, by workflow id: Temporal's visibility lists the
 * running ones, and each is described (bounded in number and concurrency). Throws when Temporal cannot be reached.
 */
async function failingActivities(temporal: TemporalClient, taskQueue: string): Promise<Map<string, FailingActivity[]>> {
  const ids: string[] = [];
  const query = `TaskQueue = "${taskQueue.replace(/"/g, '')}" AND ExecutionStatus = "Running"`;
  for await (const wf of temporal.workflow.list({ query })) {
    ids.push(wf.workflowId);
    if (ids.length >= MAX_DESCRIBED) break;
  }
  const found = new Map<string, FailingActivity[]>();
  let next = 0;
  const describeNext = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        const d = await temporal.workflow.getHandle(id).describe();
        const failing = (d.raw.pendingActivities ?? [])
          .filter((a) => (a.attempt ?? 1) > 1 || a.lastFailure)
          .map((a): FailingActivity => ({
            activityType: a.activityType?.name ?? '?',
            attempt: a.attempt ?? 1,
            lastFailure: a.lastFailure?.message ?? null,
            lastAttemptAt: iso(optionalTsToMs(a.lastAttemptCompleteTime) ?? optionalTsToMs(a.lastStartedTime)),
            nextAttemptAt: iso(optionalTsToMs(a.nextAttemptScheduleTime)),
          }));
        if (failing.length > 0) found.set(id, failing);
      } catch {
        // Completed between the list and the describe: not stuck.
      }
    }
  };
  await Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, describeNext));
  return found;
}

/**
 * The administrator's stuck-case view: open cases with their time limit and what the timers did (overdue,
 * reminders, escalation), and cases whose workflow has an activity that keeps failing (a mail server or database
 * fault) or whose workflow never started. Read from Postgres, plus Temporal for the failing activities; when
 * Temporal cannot be reached the list says so (`technicalUnavailable`) and still shows the overdue cases.
 */
export async function loadStuck(
  deps: { prisma: PrismaClient; temporal: TemporalClient; orgs: OrgDirectory; taskQueue: string; timeoutMs: number },
  q: { kind: StuckKind; limit: number },
  nowMs = Date.now(),
) {
  const { prisma, orgs } = deps;
  let failing = new Map<string, FailingActivity[]>();
  let technicalUnavailable = false;
  if (q.kind !== 'overdue') {
    try {
      // Bounded: with Temporal down the client would otherwise retry for a long time, and the view is needed most then.
      failing = await deps.temporal.withDeadline(Date.now() + deps.timeoutMs, () =>
        failingActivities(deps.temporal, deps.taskQueue),
      );
    } catch {
      technicalUnavailable = true;
    }
  }
  const notStartedBefore = new Date(nowMs - NOT_STARTED_AFTER_MS);
  const now = new Date(nowMs);
  const technicalWhere = {
    OR: [{ workflowId: { in: [...failing.keys()] } }, { workflowStartedAt: null, createdAt: { lt: notStartedBefore } }],
  };
  const overdueWhere = {
    status: 'IN_REVIEW' as const,
    steps: { some: { decision: null, openedAt: { not: null }, dueAt: { lt: now } } },
  };
  const where =
    q.kind === 'overdue'
      ? overdueWhere
      : q.kind === 'technical'
        ? technicalWhere
        : { OR: [{ status: { in: OPEN_STATUSES } }, technicalWhere] };
  const rows = await prisma.application.findMany({
    where,
    include: { steps: true, student: { select: { name: true } } },
    orderBy: { createdAt: 'asc' },
    take: q.limit,
  });

  const items = await Promise.all(
    rows.map(async (a) => {
      const step = a.steps.find((s) => s.round === a.round && s.stage === a.currentStage && !s.decision);
      const dueAt = a.status === 'IN_REVIEW' ? (step?.dueAt ?? null) : null;
      const activities = failing.get(a.workflowId) ?? [];
      const notStarted = !a.workflowStartedAt && a.createdAt < notStartedBefore;
      const escalatedTo = step?.escalatedAt ? (step.escalatedTo ?? null) : null;
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
        overdue: dueAt !== null && dueAt.getTime() < nowMs,
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
      };
    }),
  );
  // Technical faults first (nothing moves until they are fixed), then escalated, then overdue, each oldest first.
  const rank = (i: (typeof items)[number]) => (i.technical ? 0 : i.escalated ? 1 : i.overdue ? 2 : 3);
  items.sort((x, y) => rank(x) - rank(y) || x.createdAt.localeCompare(y.createdAt));
  return { items, technicalUnavailable };
}
