import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useEffect, useRef, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useParams } from 'react-router';
import { api, ApiError, ok, saveBlob, type Application } from '../api/client';
import {
  CHANGE_TYPE_LABELS,
  formatTime,
  specOf,
  STAGE_LABELS,
  STATUS_LABELS,
  wordingOf,
  type Decision,
} from '../api/labels';
import { useSession } from '../auth';
import { caseTitle, LoadError, Loading, StatusBadge, whereIs } from '../components/bits';
import { DetailsFields, detailPaths, detailsFor } from '../components/DetailsFields';
import { Dialog } from '../components/Dialog';
import { ReasonDialog } from '../components/ReasonDialog';
import { applyProblem, CharCounter, charCount, ErrorSummary, Field, limitRule, useDraft } from '../components/forms';
import { neighbours, typingInto } from '../components/queue';
import { Timeline } from '../components/Timeline';
import { Documents } from '../components/Documents';
import { PredictionPanel, ReceiptPanel, ReissueQueryCode, type GuardianAccess } from '../components/Guardian';
import { AdminCaseActions, TemporalLink } from './StuckPage';

const isOpen = (a: Application) => a.status === 'IN_REVIEW' || a.status === 'RETURNED';
/** The school that filed the case: the receiving school for a transfer, else the pupil's school. */
const applicantOf = (a: Application) =>
  specOf(a.type).applicant === 'receivingSchool' ? a.toSchool?.code : a.fromSchool.code;
const FIRST_STAGES = ['RECEIVING_SCHOOL', 'SCHOOL'];

/** One CasePage per case: moving to the next case starts afresh (dialogs closed, notice of that case). */
export function CaseRoute() {
  const id = Number(useParams().id);
  return <CasePage key={id} id={id} />;
}

/** A message left by the page before (saved, decided …), shown once. */
function takeNotice(): string | null {
  const n = sessionStorage.getItem('xueji.notice');
  sessionStorage.removeItem('xueji.notice');
  return n;
}

/** The query code of a case just filed here, left by the filing page for its receipt: read once. */
function takeGuardianAccess(id: number): GuardianAccess | null {
  const raw = sessionStorage.getItem('xueji.guardianAccess');
  if (!raw) return null;
  sessionStorage.removeItem('xueji.guardianAccess');
  const saved = JSON.parse(raw) as { id: number; access: GuardianAccess };
  return saved.id === id ? saved.access : null;
}

function CasePage({ id }: { id: number }) {
  const { user } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const q = useQuery({
    queryKey: ['application', id],
    queryFn: () => ok(api.GET('/api/applications/{id}', { params: { path: { id } } })),
  });
  const [dialog, setDialog] = useState<Decision | 'WITHDRAW' | 'REVERSAL' | null>(null);
  const [notice, setNotice] = useState<string | null>(takeNotice);
  const [receipt, setReceipt] = useState<GuardianAccess | null>(() => takeGuardianAccess(id));
  const nav = neighbours(id);
  const a = q.data as Application | undefined;

  useEffect(() => {
    document.title = `业务 ${id} · 学籍异动`;
  }, [id]);

  const mine =
    !!a && !!user && a.status === 'IN_REVIEW' && user.role !== 'ADMIN' && a.currentOrg?.code === user.orgCode;
  const applicant = !!a && !!user && user.role === 'SCHOOL_CLERK' && applicantOf(a) === user.orgCode;

  // Shortcuts for working through many cases: J/K next/previous, A approve, T return, B reject.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (
        typingInto(e.target) ||
        e.ctrlKey ||
        e.metaKey ||
        e.altKey ||
        dialog ||
        document.querySelector('dialog[open]')
      )
        return;
      const key = e.key.toLowerCase();
      if (key === 'j' && nav?.next) void navigate(`/applications/${nav.next}`);
      else if (key === 'k' && nav?.prev) void navigate(`/applications/${nav.prev}`);
      else if (mine && key === 'a') setDialog('APPROVE');
      else if (mine && key === 't') setDialog('RETURN');
      else if (mine && key === 'b') setDialog('REJECT');
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [nav?.next, nav?.prev, mine, dialog, navigate]);

  /** After a decision: on to the next case of the list, or back to the list when it was the last. */
  const done = async (message: string) => {
    await queryClient.invalidateQueries({ queryKey: ['tasks'] });
    await queryClient.invalidateQueries({ queryKey: ['application', id] });
    await queryClient.invalidateQueries({ queryKey: ['applications'] });
    setDialog(null);
    if (nav?.next) {
      sessionStorage.setItem('xueji.notice', `${message}（业务 ${id}）。这是下一件。`);
      void navigate(`/applications/${nav.next}`);
    } else {
      setNotice(message);
    }
  };

  return (
    <article className="case">
      <nav className="case-nav" aria-label="前后业务">
        {nav ? (
          <>
            <Link to={nav.from}>← {nav.label}</Link>
            <span className="muted">
              第 {nav.pos} / {nav.total} 件
            </span>
            <button
              type="button"
              className="secondary"
              disabled={!nav.prev}
              onClick={() => nav.prev && void navigate(`/applications/${nav.prev}`)}
              aria-keyshortcuts="K"
            >
              上一件 (K)
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!nav.next}
              onClick={() => nav.next && void navigate(`/applications/${nav.next}`)}
              aria-keyshortcuts="J"
            >
              下一件 (J)
            </button>
          </>
        ) : (
          <Link to={user?.role === 'ADMIN' ? '/admin/stuck' : '/tasks'}>← 返回</Link>
        )}
      </nav>
      <h1>
        {a ? caseTitle(a) : '业务'} <span className="muted">（编号 {id}）</span>
      </h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {q.isPending ? (
        <Loading what="业务" />
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : a ? (
        <>
          <div className="case-head">
            <StatusBadge a={a} />
            {a.escalated && <span className="badge overdue">已上报</span>}
            {a.reversal?.status === 'APPROVED' && <span className="badge reversed">已纠错</span>}
            <span className="where">{whereIs(a)}</span>
          </div>
          <ReversalLinks a={a} />
          {mine && (
            <div className="actions" role="group" aria-label="审核">
              <button type="button" className="primary" onClick={() => setDialog('APPROVE')} aria-keyshortcuts="A">
                {FIRST_STAGES.includes(a.currentStage ?? '') ? '学校审核通过，上报 (A)' : '同意 (A)'}
              </button>
              <button type="button" className="secondary" onClick={() => setDialog('RETURN')} aria-keyshortcuts="T">
                退回修改 (T)
              </button>
              <button type="button" className="danger" onClick={() => setDialog('REJECT')} aria-keyshortcuts="B">
                不同意 (B)
              </button>
              <span className="hint">快捷键：A 同意 · T 退回 · B 不同意 · J/K 下一件/上一件 · Esc 关闭对话框</span>
            </div>
          )}
          {user?.role === 'ADMIN' &&
            (isOpen(a) ? (
              <AdminCaseActions a={a} />
            ) : (
              <p>
                <TemporalLink id={a.id} />
              </p>
            ))}
          {applicant && a.status === 'RETURNED' && (
            <ResubmitForm a={a} onDone={() => void done('已重新提交，从第一个环节重新审核')} />
          )}

          <PredictionPanel a={a} />
          {receipt && <ReceiptPanel a={a} access={receipt} onClose={() => setReceipt(null)} />}

          <div className="case-grid">
            <section aria-labelledby="facts">
              <h2 id="facts">申请内容</h2>
              <dl className="facts">
                <dt>异动类型</dt>
                <dd>{a.reverses ? `纠错（${CHANGE_TYPE_LABELS[a.type]}）` : CHANGE_TYPE_LABELS[a.type]}</dd>
                <dt>学生</dt>
                <dd>
                  {a.student.name} <span className="muted">{a.student.studentNo}</span>
                </dd>
                <dt>{wordingOf(a.type).fromSchool}</dt>
                <dd>{a.fromSchool.name}</dd>
                {a.toSchool && (
                  <>
                    <dt>转入学校</dt>
                    <dd>{a.toSchool.name}</dd>
                  </>
                )}
                <dt>异动日期</dt>
                <dd>{a.effectiveDate}</dd>
                <dt>异动原因</dt>
                <dd>
                  {a.reasonCode && <ReasonLabel type={a.type} code={a.reasonCode} />}
                  {a.reason}
                </dd>
                {specOf(a.type).fields.map((f) =>
                  a.details?.[f.name] ? (
                    <Fragment key={f.name}>
                      <dt>{f.label}</dt>
                      <dd>{String(a.details[f.name])}</dd>
                    </Fragment>
                  ) : null,
                )}
                <dt>提交时间</dt>
                <dd>{formatTime(a.createdAt)}</dd>
              </dl>
              <Attachments a={a} canUpload={isOpen(a) && user?.role !== 'ADMIN'} />
              <Documents a={a} />
              {(applicant || user?.role === 'ADMIN') && <ReissueQueryCode a={a} />}
              {applicant && isOpen(a) && (
                <p>
                  <button type="button" className="danger secondary" onClick={() => setDialog('WITHDRAW')}>
                    撤销申请
                  </button>
                </p>
              )}
              {applicant && reversible(a) && (
                <p>
                  <button type="button" className="danger secondary" onClick={() => setDialog('REVERSAL')}>
                    申请纠错
                  </button>
                </p>
              )}
            </section>
            <section aria-labelledby="history">
              <h2 id="history">办理经过</h2>
              <Timeline a={a} />
            </section>
          </div>

          {dialog === 'REVERSAL' && (
            <ReversalDialog
              a={a}
              onClose={() => setDialog(null)}
              onDone={(reversalId) => {
                setDialog(null);
                void queryClient.invalidateQueries({ queryKey: ['application', id] });
                sessionStorage.setItem('xueji.notice', `已提交纠错申请，按原审批环节审核（原业务 ${id}）`);
                void navigate(`/applications/${reversalId}`);
              }}
            />
          )}
          {dialog && dialog !== 'WITHDRAW' && dialog !== 'REVERSAL' && (
            <DecisionDialog a={a} decision={dialog} onClose={() => setDialog(null)} onDone={(m) => void done(m)} />
          )}
          {dialog === 'WITHDRAW' && (
            <WithdrawDialog a={a} onClose={() => setDialog(null)} onDone={() => void done('已撤销')} />
          )}
        </>
      ) : null}
    </article>
  );
}

/** "随父母工作调动：" before the free text, from the coded reasons. */
function ReasonLabel({ type, code }: { type: Application['type']; code: string }) {
  const codes = useQuery({
    queryKey: ['reason-codes'],
    queryFn: () => ok(api.GET('/api/reason-codes')),
    staleTime: 3_600_000,
  });
  const label = codes.data?.[type]?.find((c) => c.code === code)?.label ?? code;
  return <strong>{label}：</strong>;
}

const DECISION_TEXT: Record<Decision, { title: string; button: string; done: string }> = {
  APPROVE: { title: '同意', button: '确认同意', done: '已同意' },
  RETURN: { title: '退回修改', button: '确认退回', done: '已退回申请学校修改' },
  REJECT: { title: '不同意', button: '确认不同意', done: '已不同意，业务办结' },
};

function DecisionDialog(props: {
  a: Application;
  decision: Decision;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const { a, decision } = props;
  const needsComment = decision !== 'APPROVE';
  const form = useForm<{ comment: string }>({ defaultValues: { comment: '' } });
  const draft = useDraft(`decision-${a.id}-${decision}`, form);
  const [summary, setSummary] = useState<string[]>([]);
  const text = DECISION_TEXT[decision];
  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    try {
      const comment = v.comment.trim() || undefined;
      await ok(
        api.POST('/api/applications/{id}/decisions', {
          params: { path: { id: a.id } },
          body: { stage: a.currentStage!, decision, comment },
        }),
      );
      draft.clear();
      props.onDone(text.done);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setSummary([`${e.detail}。请关闭此对话框，页面会显示最新情况。`]);
        return;
      }
      setSummary(applyProblem(e, form, ['comment']));
    }
  });
  const title = `${text.title}：${caseTitle(a)}（${a.currentStage ? STAGE_LABELS[a.currentStage] : ''}）`;
  return (
    <Dialog open title={title} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <Field
          label={needsComment ? '理由（必填）' : '审核意见（可不填）'}
          required={needsComment}
          error={form.formState.errors.comment?.message}
          hint={
            <>
              {needsComment
                ? '会显示给申请学校，请写清需要修改或不同意的原因。Ctrl+Enter 提交。'
                : 'Enter 提交，Esc 取消。'}{' '}
              <CharCounter form={form} name="comment" max={500} />
            </>
          }
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={4}
              autoFocus
              aria-invalid={invalid}
              aria-describedby={describedBy}
              onKeyDown={(e) => {
                // Approving: Enter alone submits (the comment is optional); with a reason, Enter is a new line.
                if (!needsComment && e.key === 'Enter' && !e.shiftKey) {
                  e.preventDefault();
                  void submit();
                }
              }}
              {...form.register('comment', {
                validate: (v) =>
                  (needsComment && !v.trim()
                    ? decision === 'RETURN'
                      ? '退回时必须填写理由'
                      : '不同意时必须填写理由'
                    : null) ??
                  (charCount(v) <= 500 || `审核意见最多 500 个字，现为 ${charCount(v)} 个字，请删减`),
              })}
            />
          )}
        </Field>
        <div className="dialog-buttons">
          <button
            type="submit"
            className={decision === 'REJECT' ? 'danger' : 'primary'}
            disabled={form.formState.isSubmitting}
          >
            {form.formState.isSubmitting ? '正在提交…' : text.button}
          </button>
          <button type="button" className="secondary" onClick={props.onClose}>
            取消
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * The server decides (most recent change, window, open case); the page offers it for an approved case that is no
 * reversal and has no reversal running or done.
 */
const reversible = (a: Application) =>
  a.status === 'APPROVED' && !a.reverses && !['IN_REVIEW', 'RETURNED', 'APPROVED'].includes(a.reversal?.status ?? '');

/** The links between a reversal (纠错) and the case it reverses, both ways. */
function ReversalLinks({ a }: { a: Application }) {
  if (a.reverses) {
    return (
      <p className="notice">
        本业务为纠错：审批通过后，撤销<Link to={`/applications/${a.reverses.id}`}>业务 {a.reverses.id}</Link>
        所作的学籍变更。
      </p>
    );
  }
  if (!a.reversal) return null;
  const what =
    a.reversal.status === 'APPROVED'
      ? `已纠错（${formatTime(a.reversal.closedAt)}），学籍已恢复为变更前的状态：`
      : a.reversal.status === 'IN_REVIEW' || a.reversal.status === 'RETURNED'
        ? `纠错办理中（${formatTime(a.reversal.createdAt)} 申请）：`
        : `纠错申请${STATUS_LABELS[a.reversal.status]}：`;
  return (
    <p className="notice">
      {what}
      <Link to={`/applications/${a.reversal.id}`}>业务 {a.reversal.id}</Link>
    </p>
  );
}

function ReversalDialog(props: { a: Application; onClose: () => void; onDone: (reversalId: number) => void }) {
  return (
    <ReasonDialog
      title={`申请纠错：${caseTitle(props.a)}`}
      warning="纠错将撤销本业务对学籍的变更，按原审批环节逐级审核；审批通过后学籍恢复为变更前的状态，本业务已出具的文件作废。只能纠错该学生最近一次办结的异动，且须在规定时限内。"
      label="纠错原因"
      required="请填写纠错原因"
      confirm="提交纠错申请"
      back="不纠错"
      send={async (reason) => {
        const created = await ok(
          api.POST('/api/applications/{id}/reversal', { params: { path: { id: props.a.id } }, body: { reason } }),
        );
        props.onDone(created.id);
      }}
      onClose={props.onClose}
    />
  );
}

function WithdrawDialog(props: { a: Application; onClose: () => void; onDone: () => void }) {
  return (
    <ReasonDialog
      title={`撤销申请：${caseTitle(props.a)}`}
      warning="撤销后本业务办结，不能恢复；如需办理须重新申请。"
      label="撤销原因"
      required="请填写撤销原因"
      confirm="确认撤销"
      back="不撤销"
      send={async (reason) => {
        await ok(
          api.POST('/api/applications/{id}/withdraw', { params: { path: { id: props.a.id } }, body: { reason } }),
        );
        props.onDone();
      }}
      onClose={props.onClose}
    />
  );
}

interface ResubmitValues {
  reason: string;
  effectiveDate: string;
  details: Record<string, string>;
}

/** A returned case: the reviewer's reason, and the case's fields to correct before sending it round again. */
function ResubmitForm(props: { a: Application; onDone: () => void }) {
  const { a } = props;
  const lastReturn = [...a.steps].reverse().find((s) => s.decision === 'RETURN');
  const form = useForm<ResubmitValues>({
    defaultValues: {
      reason: a.reason,
      effectiveDate: a.effectiveDate,
      details: Object.fromEntries(Object.entries(a.details ?? {}).map(([k, v]) => [k, String(v)])),
    },
  });
  const draft = useDraft(`resubmit-${a.id}-${a.round}`, form);
  const [summary, setSummary] = useState<string[]>([]);
  const { errors, isSubmitting } = form.formState;
  const box = useRef<HTMLElement>(null);
  const reversal = !!a.reverses;
  const reasonLabel = reversal ? '纠错原因' : '异动原因';
  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    try {
      await ok(
        api.POST('/api/applications/{id}/resubmit', {
          params: { path: { id: a.id } },
          // A reversal (纠错) corrects its reason only: it has no date or details of its own.
          body: reversal
            ? { reason: v.reason.trim() }
            : { reason: v.reason.trim(), effectiveDate: v.effectiveDate, details: detailsFor(a.type, v.details) },
        }),
      );
      draft.clear();
      props.onDone();
    } catch (e) {
      setSummary(applyProblem(e, form, ['reason', 'effectiveDate', ...detailPaths(a.type)]));
    }
  });
  return (
    <section className="panel warn" ref={box} aria-labelledby="resubmit-title">
      <h2 id="resubmit-title">被退回，请修改后重新提交</h2>
      {lastReturn && (
        <p>
          {lastReturn.org.name}（{lastReturn.actor}）退回的理由：
          <strong className="comment-inline">{lastReturn.comment}</strong>
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <Field
          label={reasonLabel}
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
              {...form.register('reason', limitRule(reasonLabel, 500, `请填写${reasonLabel}`))}
            />
          )}
        </Field>
        {!reversal && (
          <>
            <Field label="异动日期" required error={errors.effectiveDate?.message}>
              {({ id, describedBy, invalid }) => (
                <input
                  id={id}
                  type="date"
                  aria-invalid={invalid}
                  aria-describedby={describedBy}
                  {...form.register('effectiveDate', { required: '请填写异动日期' })}
                />
              )}
            </Field>
            <DetailsFields type={a.type} register={form.register} errors={errors} />
          </>
        )}
        <button type="submit" className="primary" disabled={isSubmitting}>
          {isSubmitting ? '正在提交…' : '重新提交'}
        </button>
      </form>
    </section>
  );
}

function Attachments({ a, canUpload }: { a: Application; canUpload: boolean }) {
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: ['attachments', a.id],
    queryFn: () => ok(api.GET('/api/applications/{id}/attachments', { params: { path: { id: a.id } } })),
  });
  const [error, setError] = useState<string | null>(null);
  const upload = useMutation({
    mutationFn: (file: File) => uploadProof(a.id, file),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['attachments', a.id] }),
    onError: (e) => setError(e.message),
  });
  const download = async (attachmentId: number, name: string) => {
    const { data, response } = await api.GET('/api/applications/{id}/attachments/{attachmentId}', {
      params: { path: { id: a.id, attachmentId } },
      parseAs: 'blob',
    });
    if (response.ok && data) saveBlob(data as Blob, name);
    else setError('下载失败，请稍后重试');
  };
  return (
    <div className="attachments">
      <h3>证明材料</h3>
      {list.data?.items.length ? (
        <ul>
          {list.data.items.map((f) => (
            <li key={f.id}>
              <button type="button" className="link" onClick={() => void download(f.id, f.fileName)}>
                {f.fileName}
              </button>{' '}
              <span className="muted small">
                {Math.ceil(f.size / 1024)} KB · {f.uploadedBy} · {formatTime(f.createdAt)}
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">{list.isPending ? '正在加载…' : '没有上传证明材料。'}</p>
      )}
      {canUpload && (
        <Field label="上传证明材料（PDF、JPG 或 PNG，不超过 10 MB）" error={error ?? undefined}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type="file"
              accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              disabled={upload.isPending}
              onChange={(e) => {
                const file = e.target.files?.[0];
                setError(null);
                if (file) upload.mutate(file, { onSettled: () => (e.target.value = '') });
              }}
            />
          )}
        </Field>
      )}
      {upload.isPending && <p role="status">正在上传…</p>}
    </div>
  );
}

/** Multipart upload of one proof document; the API sniffs the type from the bytes. */
export async function uploadProof(id: number, file: File) {
  if (file.size > 10 * 1024 * 1024) throw new ApiError(413, { detail: '文件不能超过 10 MB' });
  return ok(
    api.POST('/api/applications/{id}/attachments', {
      params: { path: { id } },
      body: { file: '' },
      bodySerializer: () => {
        const fd = new FormData();
        fd.append('file', file, file.name);
        return fd;
      },
    }),
  );
}
