// After a restore, Temporal's snapshot is older than the app database's (backups take Temporal first). What happened
// between the two snapshots is in the app database (and its audit trail) but not in the workflows. This finds it and
// brings the workflows up to the app database where that is safe — a decision the read model holds is sent again to
// its workflow as the same Update (same business update id; the activity finds the step already decided and changes
// nothing) — and lists everything else for an administrator. Nothing is dropped silently.
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { PrismaClient } from './db';
import { decideUpdate, stateQuery, type DecideInput } from '../workflows/messages';
import type { Actor, Role } from '../domain/types';

/**
 * Right after a restore a workflow may still be "sticky" to a worker of the old installation, which no longer exists:
 * queries and updates fail until Temporal gives up on it and hands the workflow to a live worker. Retried meanwhile.
 */
async function retrying<T>(what: string, fn: () => Promise<T>, log: (m: string) => void, ms = 120_000): Promise<T> {
  const until = Date.now() + ms;
  for (let n = 0; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError || Date.now() > until) throw e;
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      if (n === 0) log(`${what}: ${(e as Error).message}${cause ? ` (${cause})` : ''}; retrying`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Clocks of the backup host and the app servers may differ a little: look this much earlier than the snapshot. */
const CLOCK_MARGIN_MS = 5_000;
const OPEN = ['IN_REVIEW', 'RETURNED'] as const;

export interface AtRisk {
  applicationId: number;
  /** Audit actions on the case after the Temporal snapshot began, oldest first. */
  actions: { action: string; at: string }[];
}

/** Cases with audited actions after `since` (the Temporal snapshot's start): what Temporal may not have seen. */
export async function actionsSince(prisma: PrismaClient, since: Date): Promise<AtRisk[]> {
  const rows = await prisma.auditEvent.findMany({
    where: { applicationId: { not: null }, at: { gte: new Date(since.getTime() - CLOCK_MARGIN_MS) } },
    orderBy: { seq: 'asc' },
    select: { applicationId: true, action: true, at: true },
  });
  const by = new Map<number, AtRisk>();
  for (const r of rows) {
    const id = r.applicationId!;
    if (!by.has(id)) by.set(id, { applicationId: id, actions: [] });
    by.get(id)!.actions.push({ action: r.action, at: r.at.toISOString() });
  }
  return [...by.values()];
}

export interface ReconcileReport {
  checked: number;
  /** Workflow and read model agree. */
  inStep: number;
  /** Decisions sent again to a workflow that had not seen them. */
  replayed: { applicationId: number; round: number; stage: string; decision: string }[];
  /** Cases filed after the Temporal snapshot with nothing done since: their workflow is started again. */
  restarted: number[];
  /** What only an administrator can settle, with what was found. */
  needsAdmin: { applicationId: number; problem: string }[];
}

/**
 * Compares each case — every open one, and `also` (cases with actions after the Temporal snapshot) — with its
 * workflow, and repairs what can be repaired: see the file comment.
 */
export async function reconcileWithTemporal(opts: {
  prisma: PrismaClient;
  temporal: Client;
  also?: number[];
  log?: (m: string) => void;
  updateTimeoutMs?: number;
}): Promise<ReconcileReport> {
  const { prisma, temporal } = opts;
  const log = opts.log ?? (() => undefined);
  const report: ReconcileReport = { checked: 0, inStep: 0, replayed: [], restarted: [], needsAdmin: [] };
  const apps = await prisma.application.findMany({
    where: { OR: [{ status: { in: [...OPEN] } }, { id: { in: opts.also ?? [] } }] },
    include: { steps: true },
    orderBy: { id: 'asc' },
  });
  const users = new Map((await prisma.user.findMany()).map((u) => [u.id, u]));
  const actorOf = (userId: number | null): Actor | null => {
    const u = userId === null ? undefined : users.get(userId);
    return u
      ? { userId: u.id, username: u.username, displayName: u.displayName, role: u.role as Role, orgCode: u.orgCode }
      : null;
  };

  for (const app of apps) {
    report.checked += 1;
    const handle = temporal.workflow.getHandle(app.workflowId);
    const needs = (problem: string) => report.needsAdmin.push({ applicationId: app.id, problem });
    let running: boolean;
    try {
      running = (await retrying(`case ${app.id}: describe`, () => handle.describe(), log)).status.name === 'RUNNING';
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      const untouched = app.round === 1 && app.status === 'IN_REVIEW' && app.steps.every((s) => !s.decision);
      if (untouched) {
        // Filed after the Temporal snapshot and not acted on since: the API's reconciler starts its workflow again.
        await prisma.application.update({ where: { id: app.id }, data: { workflowStartedAt: null } });
        report.restarted.push(app.id);
      } else {
        needs(
          `no workflow in Temporal (filed after its snapshot) but the case is ${app.status}, round ${app.round}, with decisions`,
        );
      }
      continue;
    }
    const dbOpen = (OPEN as readonly string[]).includes(app.status);
    if (!running) {
      if (dbOpen) needs(`the workflow has finished but the case is ${app.status}`);
      else report.inStep += 1;
      continue;
    }
    for (let guard = 0; ; guard++) {
      const st = await retrying(`case ${app.id}: query`, () => handle.query(stateQuery), log);
      if (st.status === app.status && st.round === app.round && st.currentStage === app.currentStage) {
        if (guard === 0) report.inStep += 1;
        break;
      }
      const step =
        st.status === 'IN_REVIEW' && st.currentStage
          ? app.steps.find((s) => s.round === st.round && s.stage === st.currentStage)
          : undefined;
      const actor = step?.decision ? actorOf(step.actorId) : null;
      if (!step?.decision || !actor || guard > 20) {
        needs(
          `workflow: ${st.status} round ${st.round} ${st.currentStage ?? '-'}; case: ${app.status} round ${app.round} ${app.currentStage ?? '-'}` +
            (st.round !== app.round ? ' (a return and resubmission happened after the Temporal snapshot)' : ''),
        );
        break;
      }
      const input: DecideInput = {
        stage: step.stage,
        decision: step.decision,
        comment: step.comment,
        actor,
        // An administrator's decision was an override; its reason is in the audit trail already.
        ...(actor.role === 'ADMIN'
          ? { override: { reason: '恢复备份后补发管理员的代为审核 (replayed after a restore)' } }
          : {}),
      };
      // The same business update id as the API's: sending it twice is harmless.
      try {
        await retrying(
          `case ${app.id}: ${step.decision} ${step.stage}`,
          () =>
            temporal.withDeadline(Date.now() + (opts.updateTimeoutMs ?? 30_000), () =>
              handle.executeUpdate(decideUpdate, {
                args: [input],
                updateId: `decide:${app.id}:${step.round}:${step.stage}:${step.decision}`,
              }),
            ),
          log,
        );
      } catch (e) {
        // A case closed after the Temporal snapshot: the decision sent before this one had its workflow read the
        // case's end from the app database, and the workflow finished while this one was on its way (Temporal aborts
        // it: "aborted by closing workflow"). Then the workflow is where the case is, and nothing is left to send.
        if (!(e instanceof WorkflowNotFoundError) || dbOpen) throw e;
        const now = await retrying(`case ${app.id}: describe`, () => handle.describe(), log);
        if (now.status.name === 'RUNNING') throw e;
        log(`case ${app.id}: its workflow finished with the case (${app.status}) before ${step.stage} was sent again`);
        break;
      }
      report.replayed.push({ applicationId: app.id, round: step.round, stage: step.stage, decision: step.decision! });
      log(`case ${app.id}: ${step.decision} ${step.stage} (round ${step.round}) sent again to its workflow`);
    }
  }
  return report;
}
