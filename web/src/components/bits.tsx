import { useEffect, useState } from 'react';
import type { Application } from '../api/client';
import { CHANGE_TYPE_LABELS, formatDay, formatTime, STAGE_LABELS, STATUS_LABELS } from '../api/labels';

export function StatusBadge({
  a,
}: {
  a: Pick<Application, 'status'> & Partial<Pick<Application, 'overdue' | 'escalated'>>;
}) {
  return (
    <span className={`badge status-${a.status.toLowerCase()}`}>
      {STATUS_LABELS[a.status]}
      {a.overdue ? <span className="badge overdue">超期</span> : null}
    </span>
  );
}

/** Where a case is: "南江县教育局 · 转入县教育局审核", or who must correct it, or how it ended. */
export function whereIs(a: Application): string {
  if (a.status === 'RETURNED') return `退回 ${a.currentOrg?.name ?? ''} 修改`;
  if (a.status !== 'IN_REVIEW') return `已办结 · ${formatTime(a.updatedAt)}`;
  return `${a.currentOrg?.name ?? '—'} · ${a.currentStage ? STAGE_LABELS[a.currentStage] : ''}`;
}

export const caseTitle = (a: Application) =>
  `${a.reverses ? '纠错 · ' : ''}${CHANGE_TYPE_LABELS[a.type]} · ${a.student.name}`;

/** The due time of the case's current stage, if it has one. */
export function currentDue(a: Application): string | null {
  const step = a.steps.find((s) => s.stage === a.currentStage && !s.decidedAt);
  return step?.dueAt ?? null;
}

/** The time, for what depends on it (overdue, waiting for …): renders again every minute. */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(t);
  }, []);
  return now;
}

export function DueText({ dueAt }: { dueAt: string | null }) {
  const now = useNow();
  if (!dueAt) return <span className="muted">—</span>;
  const late = Date.parse(dueAt) < now;
  return (
    <span className={late ? 'late' : undefined}>
      {formatTime(dueAt)}
      {late ? '（已超期）' : ''}
    </span>
  );
}

/**
 * 预计办结 in a list: the date by which the case is done with a chance of one in two, the one of four in five below
 * it, and 预计超期 when the current stage is not overdue yet but its own p50 falls after its due date (as the stuck
 * view flags it). A dash for a case not in review.
 */
export function PredictionText({ a }: { a: Application }) {
  const now = useNow();
  const p = a.prediction;
  if (!p) return <span className="muted">—</span>;
  const due = currentDue(a);
  const warn = due !== null && Date.parse(due) >= now && p.currentStage.p50 > formatDay(due);
  return (
    <span className="prediction-cell">
      {p.p50}
      <div className="muted small">八成把握 {p.p80} 前</div>
      {warn && (
        <span className="badge warn" title={`当前环节预计 ${p.currentStage.p50} 办完，晚于办理期限`}>
          预计超期
        </span>
      )}
    </span>
  );
}

export function Loading({ what = '内容' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      正在加载{what}…
    </p>
  );
}

export function LoadError({ error }: { error: unknown }) {
  return (
    <p className="error-summary" role="alert">
      {error instanceof Error ? error.message : '加载失败'}
    </p>
  );
}
