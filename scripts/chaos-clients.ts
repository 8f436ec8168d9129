// The chaos suite's clients: each case is driven to its planned end by one client at a time, through the HTTP API,
// retrying as README tells API clients to (test/support/api-client.ts). Whatever the API answers that the plan did
// not expect is written down as an anomaly of that case, with its trace.
import { ApiClient, GaveUpError, type Answer } from '../test/support/api-client';
import type { CasePlan } from './chaos-plan';

export interface CaseRecord {
  plan: CasePlan;
  id: number | null;
  /** `created`: answered 201; `adopted`: a retried filing was answered 409 naming the case an earlier attempt made. */
  createdVia: 'created' | 'adopted' | null;
  done: boolean;
  anomalies: string[];
  /** What happened, one line per call: `decide RECEIVING_COUNTY APPROVE → 200 (3 attempts)`. */
  trace: string[];
  /** Writes that took effect although the client got no answer or a 5xx (its retry then found them done). */
  appliedUnanswered: { call: string; history: (number | 'network')[] }[];
  startedAt: number;
  endedAt: number;
}

type AppDto = {
  id: number;
  type: string;
  status: string;
  round: number;
  currentStage: string | null;
  student: { studentNo: string };
  steps: { stage: string; decision: string | null }[];
  earlierRounds: { round: number; steps: { stage: string; decision: string | null }[] }[];
  detail?: string;
  applicationId?: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class CaseFailed extends Error {}

export async function driveCase(client: ApiClient, plan: CasePlan, rec: CaseRecord): Promise<void> {
  let think = 0;
  const pause = () => sleep(plan.thinkMs[think++ % plan.thinkMs.length]);
  const note = (what: string, a: Answer<AppDto>) =>
    rec.trace.push(
      `${new Date().toISOString()} ${what} → ${a.status}${a.attempts > 1 ? ` (attempts: ${a.history.join(', ')})` : ''}${
        a.status >= 400 && a.body.detail ? ` ${a.body.detail}` : ''
      }`,
    );
  const fail = (why: string): never => {
    rec.anomalies.push(why);
    throw new CaseFailed(why);
  };
  const read = async (user: string) => {
    const a = await client.get<AppDto>(user, `/api/applications/${rec.id}`);
    note(`read as ${user}`, a);
    if (a.status !== 200) fail(`GET /api/applications/${rec.id} as ${user} answered ${a.status}`);
    return a.body;
  };
  const decisionOf = (app: AppDto, round: number, stage: string) =>
    (app.round === round ? app.steps : (app.earlierRounds.find((r) => r.round === round)?.steps ?? [])).find(
      (s) => s.stage === stage,
    )?.decision ?? null;

  try {
    await pause();
    // File. A lost answer is retried; the retry is then refused (409) naming the case the first attempt made.
    const filed = await client.post<AppDto>(plan.applicant, '/api/applications', plan.body);
    note(`file ${plan.type} as ${plan.applicant}`, filed);
    if (filed.status === 201) {
      rec.id = filed.body.id;
      rec.createdVia = 'created';
    } else if (filed.status === 409 && filed.uncertain && typeof filed.body.applicationId === 'number') {
      rec.id = filed.body.applicationId;
      rec.appliedUnanswered.push({ call: 'file', history: filed.history });
      const mine = await read(plan.applicant);
      if (mine.student.studentNo !== plan.pupil.studentNo || mine.type !== plan.type) {
        fail(`filing answered 409 naming case ${rec.id}, which is not this pupil's ${plan.type}`);
      }
      rec.createdVia = 'adopted';
    } else {
      fail(
        `filing answered ${filed.status}${filed.uncertain ? ' after an uncertain attempt' : ''}: ${filed.body.detail ?? ''}`,
      );
    }

    let round = 1;
    let approvals = 0;
    for (let i = 0; i < plan.chain.length;) {
      await pause();
      const { ending } = plan;
      if (ending.kind === 'withdraw' && round === 1 && approvals === ending.afterApprovals) {
        const w = await client.post<AppDto>(plan.applicant, `/api/applications/${rec.id}/withdraw`, {
          reason: '家长决定不再办理',
        });
        note('withdraw', w);
        if (w.status === 200) {
          if (w.body.status !== 'WITHDRAWN') fail(`withdraw answered 200 with status ${w.body.status}`);
        } else if (w.status === 409 && w.uncertain && (await read(plan.applicant)).status === 'WITHDRAWN') {
          rec.appliedUnanswered.push({ call: 'withdraw', history: w.history });
        } else {
          fail(`withdraw answered ${w.status}: ${w.body.detail ?? ''}`);
        }
        return;
      }
      const step = plan.chain[i];
      const last = i === plan.chain.length - 1;
      const decision =
        round === 1 && ending.kind === 'return' && ending.atStage === i
          ? 'RETURN'
          : round === 1 && ending.kind === 'reject' && ending.atStage === i
            ? 'REJECT'
            : 'APPROVE';
      const comment =
        decision === 'RETURN' ? '材料不全，请补充后重新提交' : decision === 'REJECT' ? '不符合转出条件' : undefined;
      const d = await client.post<AppDto>(step.user, `/api/applications/${rec.id}/decisions`, {
        stage: step.stage,
        decision,
        ...(comment ? { comment } : {}),
      });
      note(`decide ${step.stage} ${decision} as ${step.user}`, d);
      const expectStatus =
        decision === 'RETURN' ? 'RETURNED' : decision === 'REJECT' ? 'REJECTED' : last ? 'APPROVED' : 'IN_REVIEW';
      if (d.status === 200) {
        const nextStage = expectStatus === 'IN_REVIEW' ? plan.chain[i + 1].stage : null;
        if (d.body.status !== expectStatus || d.body.currentStage !== nextStage) {
          rec.anomalies.push(
            `${step.stage} ${decision} answered 200 with ${d.body.status}/${d.body.currentStage}, expected ${expectStatus}/${nextStage}`,
          );
        }
      } else if (d.status === 409 && d.uncertain) {
        // An earlier attempt may have been applied: the case says.
        const now = await read(step.user);
        if (decisionOf(now, round, step.stage) !== decision) {
          fail(`${step.stage} ${decision} answered 409 and the case does not show it: ${d.body.detail ?? ''}`);
        }
        rec.appliedUnanswered.push({ call: `decide ${step.stage} ${decision}`, history: d.history });
      } else {
        fail(`${step.stage} ${decision} answered ${d.status}: ${d.body.detail ?? ''}`);
      }
      if (decision === 'REJECT') return;
      if (decision === 'RETURN') {
        await pause();
        const r = await client.post<AppDto>(plan.applicant, `/api/applications/${rec.id}/resubmit`, {
          reason: `${plan.body.reason}（已补充材料）`,
        });
        note('resubmit', r);
        if (r.status === 200) {
          if (r.body.status !== 'IN_REVIEW' || r.body.round !== round + 1) {
            rec.anomalies.push(`resubmit answered 200 with ${r.body.status} round ${r.body.round}`);
          }
        } else if (r.status === 409 && r.uncertain) {
          const now = await read(plan.applicant);
          if (now.round !== round + 1) fail(`resubmit answered 409 and the case is in round ${now.round}`);
          rec.appliedUnanswered.push({ call: 'resubmit', history: r.history });
        } else {
          fail(`resubmit answered ${r.status}: ${r.body.detail ?? ''}`);
        }
        round += 1;
        approvals = 0;
        i = 0;
        continue;
      }
      approvals += 1;
      i += 1;
    }
  } catch (e) {
    if (e instanceof GaveUpError) rec.anomalies.push(e.message);
    else if (!(e instanceof CaseFailed)) rec.anomalies.push(`client error: ${(e as Error).stack ?? String(e)}`);
  } finally {
    rec.done = rec.anomalies.length === 0;
    rec.endedAt = Date.now();
  }
}

/**
 * Drives every plan with `concurrency` clients sharing one ApiClient (one login per user, as clerks share an office
 * account). `released()` says how many cases may have started so far: the fault injector opens them gradually, so
 * traffic runs through every fault.
 */
export async function driveAll(
  client: ApiClient,
  plans: CasePlan[],
  o: { concurrency: number; released: () => number; onCaseDone?: (r: CaseRecord) => void },
): Promise<CaseRecord[]> {
  const records: CaseRecord[] = plans.map((plan) => ({
    plan,
    id: null,
    createdVia: null,
    done: false,
    anomalies: [],
    trace: [],
    appliedUnanswered: [],
    startedAt: 0,
    endedAt: 0,
  }));
  let next = 0;
  const lane = async () => {
    for (;;) {
      while (next < plans.length && next >= o.released()) await sleep(100);
      if (next >= plans.length) return;
      const rec = records[next++];
      rec.startedAt = Date.now();
      await driveCase(client, rec.plan, rec);
      o.onCaseDone?.(rec);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, plans.length) }, lane));
  return records;
}
