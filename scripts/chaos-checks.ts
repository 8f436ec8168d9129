// The chaos suite's invariants, checked once the faults have stopped and the system has drained. Each check reads
// the system's own records (Postgres, Temporal, the SMTP sink) and what the clients saw, and names every case that
// breaks it.
import type { Client } from '@temporalio/client';
import { messageIdFor } from '../infra/mailer';
import { gradeAfter, statusAfter } from '../domain/status-machine';
import { isOpenStatus } from '../domain/types';
import { verifyAuditChain } from '../infra/audit';
import type { PrismaClient } from '../infra/db';
import type { Attempt } from '../test/support/api-client';
import type { Received } from '../test/support/smtp';
import type { CaseRecord } from './chaos-clients';

/**
 * A worker kill explains a repeated mail when it came within this window of the delivery before the repeat: from
 * 1 s before (the sink, in the suite's own busy process, may stamp a message it read just after the kill) to 2 s
 * after (a record normally lands within 50 ms; it retries every 200 ms through a short outage).
 */
const KILL_BEFORE_DELIVERY_MS = 1_000;
const KILL_AFTER_DELIVERY_MS = 2_000;
/** A resend comes a lease after the claim, which precedes the send: this much sooner than a lease after the delivery. */
const LEASE_SLACK_MS = 10_000;

export interface Check {
  name: string;
  ok: boolean;
  /** One line: what was checked and how much of it. */
  summary: string;
  /** One line per broken case, key or answer. */
  failures: string[];
}

export interface CheckInput {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  /** The cases; each plan holds its pupil as the pupil was before the run. */
  records: CaseRecord[];
  attempts: Attempt[];
  mail: Received[];
  /** The dispatchers' lease on a claimed mail (MAIL_LEASE): a repeat after a crash comes no sooner. */
  mailLeaseMs: number;
  /** The faults as they happened (kill time `at`, ISO), to name the one behind a repeated mail. */
  faults: { n: number; kind: string; variant: string; at: string }[];
  /** The app's supervised processes, each with the exits nobody asked for (its exit code or signal). */
  processes: { name: string; crashes: string[] }[];
}

const check = (name: string, summary: string, failures: string[]): Check => ({
  name,
  ok: failures.length === 0,
  summary,
  failures,
});

const workflowIdOf = (id: number) => `application-${id}`;

/** The local part of a Message-ID header (`<local@domain>` → `local`). */
export const messageIdLocal = (header: string | undefined) =>
  (header ?? '')
    .trim()
    .replace(/^<|>$/g, '')
    .replace(/@[^@]*$/, '');

export async function runChecks(c: CheckInput): Promise<Check[]> {
  const checks: Check[] = [];
  const apps = await c.prisma.application.findMany({
    select: {
      id: true,
      type: true,
      status: true,
      studentNo: true,
      toSchoolCode: true,
      currentStage: true,
      round: true,
    },
    orderBy: { id: 'asc' },
  });
  const appById = new Map(apps.map((a) => [a.id, a]));
  const known = new Set(c.records.filter((r) => r.id !== null).map((r) => r.id!));
  const label = (r: CaseRecord) =>
    `case #${r.plan.index} ${r.plan.type} (${r.plan.ending.kind}${'atStage' in r.plan.ending ? ` at ${r.plan.chain[r.plan.ending.atStage].stage}` : ''}${'afterApprovals' in r.plan.ending ? ` after ${r.plan.ending.afterApprovals}` : ''})${r.id ? ` id ${r.id}` : ''}`;

  // 1. None lost: every case a client was told about exists and ended as planned; no case exists nobody was told of.
  {
    const f: string[] = [];
    for (const r of c.records) {
      if (r.id === null) {
        f.push(`${label(r)}: never created — ${r.anomalies.join('; ')}`);
        continue;
      }
      const a = appById.get(r.id);
      if (!a) f.push(`${label(r)}: the client was told it exists, the database has no such case`);
      else if (a.studentNo !== r.plan.pupil.studentNo || a.type !== r.plan.type)
        f.push(`${label(r)}: another pupil or type`);
      else if (a.status !== r.plan.expected)
        f.push(
          `${label(r)}: expected ${r.plan.expected}, is ${a.status}${a.currentStage ? ` at ${a.currentStage}` : ''}`,
        );
    }
    for (const a of apps)
      if (!known.has(a.id)) f.push(`case id ${a.id} (${a.type}, ${a.status}) exists but no client was told of it`);
    const adopted = c.records.filter((r) => r.createdVia === 'adopted').length;
    checks.push(
      check(
        'none lost',
        `${c.records.length} cases filed (${adopted} found again after a retried filing), ${apps.length} in the database, each ended as planned`,
        f,
      ),
    );
  }

  // 2. None stuck: nothing is still open (every plan ends in a closed state).
  {
    const open = apps.filter((a) => isOpenStatus(a.status));
    checks.push(
      check(
        'none stuck',
        `${apps.length - open.length} of ${apps.length} cases closed after the grace period`,
        open.map(
          (a) =>
            `case id ${a.id} (${a.type}) still ${a.status}${a.currentStage ? ` at ${a.currentStage}` : ''}, round ${a.round}`,
        ),
      ),
    );
  }

  // 3. One history line and one move per approved case; nothing changed for the others.
  {
    const f: string[] = [];
    const history = await c.prisma.studentHistory.findMany({ select: { studentNo: true, applicationId: true } });
    const perApp = new Map<number | null, number>();
    const perPupil = new Map<string, number>();
    for (const h of history) {
      perApp.set(h.applicationId, (perApp.get(h.applicationId) ?? 0) + 1);
      perPupil.set(h.studentNo, (perPupil.get(h.studentNo) ?? 0) + 1);
    }
    const pupils = new Map(
      (
        await c.prisma.student.findMany({
          where: { studentNo: { in: c.records.map((r) => r.plan.pupil.studentNo) } },
          select: { studentNo: true, schoolCode: true, status: true, grade: true },
        })
      ).map((p) => [p.studentNo, p]),
    );
    let approved = 0;
    for (const r of c.records) {
      const a = r.id !== null ? appById.get(r.id) : undefined;
      const before = r.plan.pupil;
      const now = pupils.get(r.plan.pupil.studentNo)!;
      const lines = a ? (perApp.get(a.id) ?? 0) : 0;
      const isApproved = a?.status === 'APPROVED';
      if (isApproved) approved += 1;
      if (lines !== (isApproved ? 1 : 0))
        f.push(`${label(r)}: ${lines} history lines for a ${a?.status ?? 'missing'} case`);
      if ((perPupil.get(r.plan.pupil.studentNo) ?? 0) > 1) {
        f.push(
          `${label(r)}: the pupil has ${perPupil.get(r.plan.pupil.studentNo)} history lines (moved more than once)`,
        );
      }
      const want = isApproved
        ? {
            schoolCode: a!.toSchoolCode ?? before.schoolCode,
            status: statusAfter(r.plan.type, before.status),
            grade: gradeAfter(r.plan.type, before.grade),
          }
        : { schoolCode: before.schoolCode, status: before.status, grade: before.grade };
      if (now.schoolCode !== want.schoolCode || now.status !== want.status || now.grade !== want.grade) {
        f.push(
          `${label(r)}: the pupil is ${now.schoolCode}/${now.status}/grade ${now.grade}, expected ${want.schoolCode}/${want.status}/grade ${want.grade}`,
        );
      }
    }
    const stray = history.filter((h) => h.applicationId === null || !known.has(h.applicationId));
    for (const h of stray) f.push(`a history line for case ${h.applicationId} that no client filed`);
    checks.push(
      check(
        'one history line and one move per approved case',
        `${approved} approved cases, ${history.length} history lines; every pupil as its case says`,
        f,
      ),
    );
  }

  // 4 and 5. Mail: one delivery per outbox key at the SMTP sink (Message-ID is a function of the key), none unsent.
  // One repeat the design allows (README "The one window left for a second mail"): the server accepted the message
  // and the worker whose dispatcher sent it was killed before the record of it landed, so the row was sent again,
  // under the same Message-ID, once its lease ran out. A repeat is explained only by a worker killed close to the
  // delivery before it (KILL_…_MS) and by coming no sooner than the lease allows (LEASE_SLACK_MS); any other repeat
  // is a second send the design does not allow.
  {
    const rows = await c.prisma.mailOutbox.findMany({ select: { key: true, sentAt: true, applicationId: true } });
    const keyOf = new Map(rows.map((r) => [messageIdFor(r.key), r.key]));
    const deliveries = new Map<string, Received[]>();
    const unknown: string[] = [];
    for (const m of c.mail) {
      const local = messageIdLocal(m.headers.get('message-id'));
      const key = keyOf.get(local);
      if (!key) unknown.push(local || '(no Message-ID)');
      else deliveries.set(key, [...(deliveries.get(key) ?? []), m]);
    }
    const workerKills = c.faults.filter((f) => f.kind === 'worker');
    const twice: string[] = [];
    const explained: string[] = [];
    const lost: string[] = [];
    for (const r of rows) {
      const at = (deliveries.get(r.key) ?? []).map((m) => m.at);
      const n = at.length;
      if (n > 1) {
        const times = at.map((t) => new Date(t).toISOString().slice(11, 23));
        // For each repeat, the worker kill that explains it (the sink and the faults are stamped by this process's
        // clock), and whether it came once the lease had run out.
        const killers = at.slice(1).map((repeat, j) =>
          repeat - at[j] < c.mailLeaseMs - LEASE_SLACK_MS
            ? undefined
            : workerKills.find((f) => {
                const k = Date.parse(f.at);
                return k >= at[j] - KILL_BEFORE_DELIVERY_MS && k <= at[j] + KILL_AFTER_DELIVERY_MS;
              }),
        );
        const line = `${r.key}: delivered ${n} times (at ${times.join(', ')})`;
        if (killers.every(Boolean)) {
          const named = killers.map(
            (f, j) => `fault ${f!.n} worker/${f!.variant} ${Date.parse(f!.at) - at[j]} ms after delivery ${j + 1}`,
          );
          explained.push(`${line}: ${named.join(', ')}`);
        } else {
          // The faults between the first delivery and the last, to help find the cause.
          const near = c.faults.filter((f) => Date.parse(f.at) >= at[0] - 2000 && Date.parse(f.at) <= at[n - 1]);
          const causes = near.map(
            (f) => `fault ${f.n} ${f.kind}${f.kind === 'api' || f.kind === 'temporal' ? '' : `/${f.variant}`}`,
          );
          twice.push(
            `${line}, not after a worker killed as it sent, nor a lease later${causes.length ? `; ${causes.join(', ')} between` : ''}`,
          );
        }
      }
      if (n === 0 && r.sentAt)
        lost.push(`${r.key}: recorded as sent at ${r.sentAt.toISOString()}, never reached the SMTP sink`);
    }
    checks.push(
      check(
        'one delivered mail per outbox key, a repeat only after its sender was killed before recording it',
        `${rows.length} outbox keys, ${c.mail.length} messages at the SMTP sink` +
          (explained.length ? `; ${explained.length} repeated: ${explained.join('; ')}` : ''),
        [...twice, ...lost, ...unknown.map((u) => `a message with Message-ID ${u} matches no outbox key`)],
      ),
    );
    const unsent = rows.filter((r) => !r.sentAt);
    checks.push(
      check(
        'no mail left undelivered',
        `${rows.length - unsent.length} of ${rows.length} outbox rows sent`,
        unsent.map((r) => `${r.key}: not sent${deliveries.has(r.key) ? ' (though the sink has it)' : ''}`),
      ),
    );
  }

  // 6. The audit chain verifies.
  {
    const v = await verifyAuditChain(c.prisma);
    checks.push(
      check(
        'the audit chain verifies',
        v.ok ? `${v.count} entries, head ${v.headHash.slice(0, 12)}…` : `broken after ${v.count} entries`,
        v.ok ? [] : [`entry ${v.brokenAt}: ${v.reason}`],
      ),
    );
  }

  // 7. Temporal agrees: no running workflow for a closed case, and each closed case's workflow ended as the case did.
  {
    const f: string[] = [];
    const running: string[] = [];
    for await (const w of c.temporal.workflow.list({
      query: `TaskQueue = '${c.taskQueue}' AND ExecutionStatus = 'Running'`,
    })) {
      running.push(w.workflowId);
    }
    const runningSet = new Set(running);
    for (const wf of running) {
      const id = Number(/^application-(\d+)$/.exec(wf)?.[1]);
      const a = appById.get(id);
      if (!a) f.push(`${wf} is running and has no case`);
      else if (!isOpenStatus(a.status)) f.push(`${wf} is still running; its case is ${a.status}`);
    }
    const closed = apps.filter((a) => !isOpenStatus(a.status) && !runningSet.has(workflowIdOf(a.id)));
    const queue = [...closed];
    const lanes = Array.from({ length: 8 }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        try {
          const result = (await c.temporal.workflow.getHandle(workflowIdOf(a.id)).result()) as { status?: string };
          if (result?.status !== a.status)
            f.push(`${workflowIdOf(a.id)} ended ${result?.status}; its case is ${a.status}`);
        } catch (e) {
          f.push(`${workflowIdOf(a.id)} (case ${a.status}): ${(e as Error).message.split('\n')[0]}`);
        }
      }
    });
    await Promise.all(lanes);
    checks.push(
      check(
        'no running workflow for a closed case',
        `${running.length} workflows running; ${closed.length} closed cases, each workflow ended with the case's status`,
        f,
      ),
    );
  }

  // 8. No answer ≥ 500 other than 503.
  {
    const bad = new Map<string, Attempt[]>();
    for (const a of c.attempts) {
      if (typeof a.status === 'number' && a.status >= 500 && a.status !== 503) {
        const k = `${a.route} ${a.status}`;
        bad.set(k, [...(bad.get(k) ?? []), a]);
      }
    }
    checks.push(
      check(
        'no answer ≥ 500 other than 503',
        `${c.attempts.length} answers and failed attempts`,
        [...bad].map(
          ([k, xs]) =>
            `${k} × ${xs.length}, e.g. at ${new Date(xs[0].at).toISOString()} ${xs[0].path} requestId ${xs[0].requestId ?? '-'}: ${xs[0].detail ?? ''}`,
        ),
      ),
    );
  }

  // 9. Clients got only answers the contract allows for what they did (a refusal of a valid step is a bug).
  {
    const f = c.records.filter((r) => r.anomalies.length).map((r) => `${label(r)}: ${r.anomalies.join('; ')}`);
    checks.push(check('every answer was one the contract allows', `${c.records.length} cases driven`, f));
  }
  // 10. No process of the app ended on its own: a dependency going away (Postgres, Temporal) is answered with 503s and
  // retries, not with an exit (under `npm start` one process carries the API, the worker and the dispatcher).
  checks.push(
    check(
      'no process exited on its own',
      `${c.processes.map((p) => `${p.name} ${p.crashes.length}`).join(', ')} exits nobody caused`,
      c.processes.flatMap((p) => p.crashes.map((how) => `${p.name} exited (${how}) with no fault to end it`)),
    ),
  );
  return checks;
}
