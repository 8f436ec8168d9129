import type { Application, Step } from '../api/client';
import { DECISION_LABELS, formatHours, formatTime, specOf, stageLabel } from '../api/labels';
import { useNow } from './bits';

const END_TEXT: Record<Application['status'], string> = {
  APPROVED: '审批通过，学籍已变更',
  REJECTED: '未通过',
  WITHDRAWN: '申请学校已撤销',
  CANCELLED: '管理员已取消',
  IN_REVIEW: '审核中',
  RETURNED: '已退回',
};

type Round = { round: number; steps: Step[] };

function StepItem({ s, current, closed, now }: { s: Step; current: boolean; closed: boolean; now: number }) {
  const state = s.decision ? s.decision.toLowerCase() : current ? 'current' : s.openedAt ? 'open' : 'pending';
  const late = !s.decidedAt && s.dueAt && Date.parse(s.dueAt) < now;
  return (
    <li className={`step step-${state}`}>
      <div className="step-head">
        <strong>{stageLabel(s.stage)}</strong> · {s.org.name}
        {s.decision && (
          <span className={`badge decision-${s.decision.toLowerCase()}`}>{DECISION_LABELS[s.decision]}</span>
        )}
        {current && <span className="badge holder">当前办理</span>}
      </div>
      {s.decision ? (
        <div className="step-body">
          {s.actor ?? '—'} 于 {formatTime(s.decidedAt)} 办理
          {s.openedAt && s.decidedAt && (
            <span className="muted">
              （用时 {formatHours((Date.parse(s.decidedAt) - Date.parse(s.openedAt)) / 3_600_000)}）
            </span>
          )}
          {s.comment && <blockquote className="comment">{s.comment}</blockquote>}
        </div>
      ) : current ? (
        <div className="step-body">
          自 {formatTime(s.openedAt)} 起由 {s.org.name} 办理（已{' '}
          {formatHours(s.openedAt ? (now - Date.parse(s.openedAt)) / 3_600_000 : null)}）
          {s.dueAt && (
            <div className={late ? 'late' : undefined}>
              办理期限 {formatTime(s.dueAt)}
              {s.dueProvisional ? '（暂定：节假日安排未公布）' : ''}
              {late ? '，已超期' : ''}
            </div>
          )}
        </div>
      ) : (
        <div className="step-body muted">{closed ? '未办理' : '尚未到达'}</div>
      )}
    </li>
  );
}

/**
 * The whole chain of a case, oldest first: filing, every round (a RETURN ends a round and the corrected
 * case starts the next), who holds it now and until when, and how it ended.
 */
export function Timeline({ a }: { a: Application }) {
  const now = useNow();
  const rounds: Round[] = [...a.earlierRounds, { round: a.round, steps: a.steps }];
  const open = a.status === 'IN_REVIEW' || a.status === 'RETURNED';
  return (
    <ol className="timeline" aria-label="办理经过">
      <li className="step step-filed">
        <div className="step-head">
          <strong>提交申请</strong> ·{' '}
          {a.toSchool && specOf(a.type).applicant === 'receivingSchool' ? a.toSchool.name : a.fromSchool.name}
        </div>
        <div className="step-body">{formatTime(a.createdAt)}</div>
      </li>
      {rounds.map((r) => (
        <li key={r.round} className="round">
          {rounds.length > 1 && (
            <div className="round-head">
              第 {r.round} 轮{r.round < a.round ? '（已退回）' : ''}
            </div>
          )}
          <ol>
            {r.steps.map((s) => (
              <StepItem
                key={`${r.round}-${s.stage}`}
                s={s}
                current={r.round === a.round && a.status === 'IN_REVIEW' && s.stage === a.currentStage}
                closed={!open || r.round < a.round}
                now={now}
              />
            ))}
          </ol>
          {r.round < a.round && <div className="step-body muted">申请学校修改后重新提交</div>}
        </li>
      ))}
      {a.status === 'RETURNED' && (
        <li className="step step-current">
          <div className="step-head">
            <strong>退回修改</strong> · {a.currentOrg?.name}
            <span className="badge holder">当前办理</span>
          </div>
          <div className="step-body">等待申请学校修改后重新提交</div>
        </li>
      )}
      {!open && (
        <li className={`step step-end status-${a.status.toLowerCase()}`}>
          <div className="step-head">
            <strong>{END_TEXT[a.status]}</strong>
          </div>
          <div className="step-body">
            {formatTime(a.updatedAt)}
            {a.closeReason && <blockquote className="comment">{a.closeReason}</blockquote>}
          </div>
        </li>
      )}
    </ol>
  );
}
