import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useSearchParams } from 'react-router';
import { api, ApiError, ok, type Application, type Schemas } from '../api/client';
import { CHANGE_TYPE_LABELS, formatHours, formatTime, STAGE_LABELS, STATUS_LABELS } from '../api/labels';
import { LoadError, Loading } from '../components/bits';
import { Dialog } from '../components/Dialog';
import { CharCounter, DialogButtons, ErrorSummary, Field, limitRule, useProblemSubmit } from '../components/forms';
import { ReasonDialog } from '../components/ReasonDialog';
import { saveQueue } from '../components/queue';

type Kind = 'all' | 'overdue' | 'technical';
const KINDS: [Kind, string][] = [
  ['all', '全部在办'],
  ['overdue', '超期'],
  ['technical', '流程故障'],
];

type StuckCase = Schemas['StuckCase'];

/** What each workflow activity does, in words an administrator knows. */
const ACTIVITY_LABELS: Record<string, string> = {
  notify: '发送邮件',
  recordDecision: '写入审核结果',
  openStage: '计算办理期限',
  markStage: '记录超期/催办',
  changeDue: '调整办理期限',
  startRound: '重新提交',
  closeApplication: '撤销/取消',
};

export function useConsoleConfig() {
  return useQuery({
    queryKey: ['console-config'],
    queryFn: () => ok(api.GET('/api/console/config')),
    staleTime: Infinity,
  });
}

/** The case's workflow in the Temporal UI (workflow id application-<id>). */
export function TemporalLink({ id }: { id: number }) {
  const config = useConsoleConfig();
  if (!config.data) return null;
  const { temporalUiUrl, temporalNamespace, workflowIdPrefix } = config.data;
  const href = `${temporalUiUrl}/namespaces/${encodeURIComponent(temporalNamespace)}/workflows/${encodeURIComponent(workflowIdPrefix + id)}`;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer" className="temporal-link">
      在 Temporal UI 中查看流程
    </a>
  );
}

/**
 * 在办与超期: every open case, oldest first — how long it has waited, who holds it, its due date, whether
 * it is overdue or technically stuck — with remind, extend and cancel.
 */
export function StuckPage() {
  const [params, setParams] = useSearchParams();
  const kind = (params.get('kind') as Kind | null) ?? 'all';
  const q = useQuery({
    queryKey: ['stuck', kind],
    queryFn: () =>
      ok(
        api.GET('/api/admin/stuck', {
          params: { query: { kind, limit: 500 } },
        }),
      ),
    refetchInterval: 30_000,
  });
  const items = useMemo(() => q.data?.items ?? [], [q.data]);
  const [action, setAction] = useState<{ kind: 'extend' | 'cancel'; c: StuckCase } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const queryClient = useQueryClient();
  useEffect(() => {
    document.title = '在办与超期 · 学籍异动';
  }, []);
  useEffect(() => {
    if (items.length)
      saveQueue({ ids: items.map((c) => c.id), from: `/admin/stuck?kind=${kind}`, label: '在办与超期' });
  }, [items, kind]);

  const remind = async (c: StuckCase) => {
    setNotice(null);
    try {
      const r = await ok(api.POST('/api/admin/applications/{id}/remind', { params: { path: { id: c.id } } }));
      setNotice(`已向 ${c.holder?.name ?? '处理单位'} 发送催办邮件（共 ${r.remindersSent} 次）。`);
      await queryClient.invalidateQueries({ queryKey: ['stuck'] });
    } catch (e) {
      setNotice(`催办未发出：${e instanceof ApiError ? e.detail : String(e)}`);
    }
  };

  return (
    <section>
      <h1>在办与超期业务</h1>
      <div className="tabs" role="tablist" aria-label="类别">
        {KINDS.map(([k, label]) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={kind === k}
            className={kind === k ? 'tab active' : 'tab'}
            onClick={() => setParams({ kind: k }, { replace: true })}
          >
            {label}
          </button>
        ))}
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {q.data?.technicalUnavailable && (
        <p className="notice late" role="alert">
          暂时无法连接流程服务（Temporal），流程故障信息缺失；超期业务仍按数据库显示。
        </p>
      )}
      {q.isPending ? (
        <Loading what="在办业务" />
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : items.length === 0 ? (
        <p className="empty">
          {kind === 'overdue' ? '没有超期的业务。' : kind === 'technical' ? '没有流程故障的业务。' : '没有在办业务。'}
        </p>
      ) : (
        <table className="list stuck">
          <thead>
            <tr>
              <th scope="col">编号</th>
              <th scope="col">业务</th>
              <th scope="col">当前环节 · 处理单位</th>
              <th scope="col">在此环节</th>
              <th scope="col">办理期限</th>
              <th scope="col">预计办结</th>
              <th scope="col">催办 / 上报</th>
              <th scope="col">流程</th>
              <th scope="col">操作</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} className={c.overdue ? 'row-overdue' : undefined}>
                <td data-label="编号">{c.id}</td>
                <td data-label="业务">
                  <Link className="case-link" to={`/applications/${c.id}`}>
                    {CHANGE_TYPE_LABELS[c.type]} · {c.student.name}
                  </Link>
                  <div className="muted small">
                    {STATUS_LABELS[c.status]} · 已 {formatHours(c.ageHours)}
                  </div>
                </td>
                <td data-label="当前环节 · 处理单位">
                  {c.currentStage ? STAGE_LABELS[c.currentStage] : '退回修改'}
                  <div className="small">{c.holder?.name ?? '—'}</div>
                </td>
                <td data-label="在此环节">{formatHours(c.hoursInStage)}</td>
                <td data-label="办理期限">
                  {c.dueAt ? formatTime(c.dueAt) : '—'}
                  {c.dueProvisional && <span className="muted small">（暂定）</span>}
                  {c.overdue && <span className="badge overdue">超期</span>}
                  {c.predictedOverdue && (
                    <span
                      className="badge warn"
                      title={`当前环节预计 ${c.prediction?.currentStage.p50 ?? ''} 办完，晚于办理期限`}
                    >
                      预计超期
                    </span>
                  )}
                </td>
                <td data-label="预计办结" className="small">
                  {c.prediction ? (
                    <>
                      {c.prediction.p50}
                      <div className="muted">八成把握 {c.prediction.p80} 前</div>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
                <td data-label="催办 / 上报" className="small">
                  {`${c.remindersSent} 次`}
                  {c.lastRemindedAt && <div className="muted">最近 {formatTime(c.lastRemindedAt)}</div>}
                  {c.escalated && <div className="late">已上报{c.escalatedTo ? ` ${c.escalatedTo.name}` : ''}</div>}
                </td>
                <td data-label="流程" className="small">
                  {!c.workflowStarted ? (
                    <span className="late">流程未启动（系统会自动重试）</span>
                  ) : c.failingActivities.length > 0 ? (
                    c.failingActivities.map((f) => (
                      <span key={f.activityType} className="late" title={f.lastFailure ?? undefined}>
                        {ACTIVITY_LABELS[f.activityType] ?? f.activityType}：第 {f.attempt - 1} 次失败
                        {f.lastFailure && <div className="muted">{f.lastFailure.slice(0, 80)}</div>}
                        {f.nextAttemptAt && <div className="muted">下次重试 {formatTime(f.nextAttemptAt)}</div>}
                      </span>
                    ))
                  ) : (
                    '正常'
                  )}
                  <div>
                    <TemporalLink id={c.id} />
                  </div>
                </td>
                <td data-label="操作" className="row-actions">
                  <button type="button" className="secondary small" onClick={() => void remind(c)} disabled={!c.holder}>
                    催办
                  </button>
                  <button
                    type="button"
                    className="secondary small"
                    onClick={() => setAction({ kind: 'extend', c })}
                    disabled={!c.currentStage}
                  >
                    延期
                  </button>
                  <button type="button" className="danger small" onClick={() => setAction({ kind: 'cancel', c })}>
                    取消
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {action?.kind === 'extend' && action.c.currentStage && (
        <ExtendDialog
          id={action.c.id}
          stage={action.c.currentStage}
          onClose={() => setAction(null)}
          onDone={(m) => {
            setAction(null);
            setNotice(m);
            void queryClient.invalidateQueries({ queryKey: ['stuck'] });
          }}
        />
      )}
      {action?.kind === 'cancel' && (
        <CancelDialog
          id={action.c.id}
          onClose={() => setAction(null)}
          onDone={(m) => {
            setAction(null);
            setNotice(m);
            void queryClient.invalidateQueries({ queryKey: ['stuck'] });
          }}
        />
      )}
    </section>
  );
}

/** On the case page, for administrators: the same actions and the Temporal link. */
export function AdminCaseActions({ a }: { a: Application }) {
  const [open, setOpen] = useState<'extend' | 'cancel' | 'override' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const done = (m: string) => {
    setOpen(null);
    setNotice(m);
    void queryClient.invalidateQueries({ queryKey: ['application', a.id] });
  };
  const remind = async () => {
    try {
      const r = await ok(api.POST('/api/admin/applications/{id}/remind', { params: { path: { id: a.id } } }));
      setNotice(`已发送催办邮件（共 ${r.remindersSent} 次）。`);
    } catch (e) {
      setNotice(`催办未发出：${e instanceof ApiError ? e.detail : String(e)}`);
    }
  };
  return (
    <div className="actions" role="group" aria-label="管理员操作">
      <button type="button" className="secondary" onClick={() => void remind()} disabled={a.status !== 'IN_REVIEW'}>
        催办
      </button>
      <button type="button" className="secondary" onClick={() => setOpen('extend')} disabled={!a.currentStage}>
        延期
      </button>
      <button
        type="button"
        className="secondary"
        onClick={() => setOpen('override')}
        disabled={a.status !== 'IN_REVIEW' || !a.currentStage}
      >
        代为审核
      </button>
      <button type="button" className="danger" onClick={() => setOpen('cancel')}>
        取消业务
      </button>
      <TemporalLink id={a.id} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {open === 'extend' && a.currentStage && (
        <ExtendDialog id={a.id} stage={a.currentStage} onClose={() => setOpen(null)} onDone={done} />
      )}
      {open === 'cancel' && <CancelDialog id={a.id} onClose={() => setOpen(null)} onDone={done} />}
      {open === 'override' && a.currentStage && (
        <OverrideDialog a={a} stage={a.currentStage} onClose={() => setOpen(null)} onDone={done} />
      )}
    </div>
  );
}

function ExtendDialog(props: {
  id: number;
  stage: NonNullable<Application['currentStage']>;
  onClose: () => void;
  onDone: (m: string) => void;
}) {
  const form = useForm<{ dueDate: string; reason: string }>({ defaultValues: { dueDate: '', reason: '' } });
  const { errors, isSubmitting } = form.formState;
  const { submit, summary } = useProblemSubmit(form, ['dueDate', 'reason'], async (v) => {
    await ok(
      api.POST('/api/admin/applications/{id}/extend', {
        params: { path: { id: props.id } },
        body: { stage: props.stage, dueDate: v.dueDate, reason: v.reason.trim() },
      }),
    );
    props.onDone(`业务 ${props.id} 的办理期限已延至 ${v.dueDate}。`);
  });
  return (
    <Dialog open title={`延期：业务 ${props.id}（${STAGE_LABELS[props.stage]}）`} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <Field label="新的办理期限" required error={errors.dueDate?.message}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type="date"
              autoFocus
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('dueDate', { required: '请选择新的办理期限' })}
            />
          )}
        </Field>
        <Field
          label="延期原因（至少 5 个字）"
          required
          error={errors.reason?.message}
          hint={<CharCounter form={form} name="reason" max={500} />}
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={3}
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('reason', {
                validate: (v) =>
                  v.trim().length < 5 ? '延期原因至少 5 个字' : limitRule('延期原因', 500, false).validate(v),
              })}
            />
          )}
        </Field>
        <DialogButtons label="确认延期" busy={isSubmitting} back="取消" onBack={props.onClose} />
      </form>
    </Dialog>
  );
}

/**
 * 代为审核: the administrator decides the current stage in place of the organisation holding it (its account is
 * locked, the office closed past the due date …) — only with a reason, which the audit trail keeps.
 */
function OverrideDialog(props: {
  a: Application;
  stage: NonNullable<Application['currentStage']>;
  onClose: () => void;
  onDone: (m: string) => void;
}) {
  const form = useForm<{ decision: 'APPROVE' | 'RETURN' | 'REJECT'; reason: string; comment: string }>({
    defaultValues: { decision: 'APPROVE', reason: '', comment: '' },
  });
  const { errors, isSubmitting } = form.formState;
  const { submit, summary } = useProblemSubmit(form, ['decision', 'reason', 'comment'], async (v) => {
    await ok(
      api.POST('/api/admin/applications/{id}/override', {
        params: { path: { id: props.a.id } },
        body: {
          stage: props.stage,
          decision: v.decision,
          reason: v.reason.trim(),
          comment: v.comment.trim() || undefined,
        },
      }),
    );
    props.onDone(`已代 ${props.a.currentOrg?.name ?? '处理单位'} 审核业务 ${props.a.id}（记入审计）。`);
  });
  return (
    <Dialog
      open
      title={`代为审核：业务 ${props.a.id}（${STAGE_LABELS[props.stage]} · ${props.a.currentOrg?.name ?? ''}）`}
      onClose={props.onClose}
    >
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <Field label="审核结果" required error={errors.decision?.message}>
          {({ id, describedBy }) => (
            <select id={id} aria-describedby={describedBy} {...form.register('decision')}>
              <option value="APPROVE">同意</option>
              <option value="RETURN">退回修改</option>
              <option value="REJECT">不同意</option>
            </select>
          )}
        </Field>
        <Field
          label="代为审核的原因（至少 5 个字）"
          required
          error={errors.reason?.message}
          hint={<CharCounter form={form} name="reason" max={500} />}
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={3}
              autoFocus
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('reason', {
                validate: (v) =>
                  v.trim().length < 5 ? '代为审核的原因至少 5 个字' : limitRule('原因', 500, false).validate(v),
              })}
            />
          )}
        </Field>
        <Field
          label="审核意见（可不填，不填时为上述原因）"
          error={errors.comment?.message}
          hint={<CharCounter form={form} name="comment" max={500} />}
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={2}
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('comment', limitRule('审核意见', 500, false))}
            />
          )}
        </Field>
        <DialogButtons label="确认代为审核" busy={isSubmitting} back="取消" onBack={props.onClose} />
      </form>
    </Dialog>
  );
}

function CancelDialog(props: { id: number; onClose: () => void; onDone: (m: string) => void }) {
  return (
    <ReasonDialog
      title={`取消业务 ${props.id}`}
      warning="取消后业务办结，申请学校会看到取消原因。"
      label="取消原因"
      required="请填写取消原因"
      confirm="确认取消业务"
      back="返回"
      send={async (reason) => {
        await ok(api.POST('/api/applications/{id}/cancel', { params: { path: { id: props.id } }, body: { reason } }));
        props.onDone(`业务 ${props.id} 已取消。`);
      }}
      onClose={props.onClose}
    />
  );
}
