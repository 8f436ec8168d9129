import { api, ok, type Schemas } from '../api/client';
import { ErrorSummary, Field } from '../components/forms';
import { usePublicLookup } from '../components/publicLookup';

type Result = Schemas['CaseStatusResult'];

/**
 * 办理进度查询 — the family's page, no login, phone first (一网通办：让信息多跑路，让群众少跑腿). The receipt's QR code opens
 * /progress/<reference>#<code>; the code is read from the fragment (which a browser never sends anywhere) and sent by
 * POST. It shows where the case is, who holds it, since when, the due date and the predicted completion, and whether
 * the change was reversed (纠错) or the case is a reversal — no name, no ID number, no comments.
 */
export function PublicProgressPage() {
  const { form, result, summary, check } = usePublicLookup<Result>('办理进度查询 · 学籍异动', (v) =>
    ok(api.POST('/api/public/progress', { body: { ref: v.ref, code: v.code } })),
  );
  /** One of the receipt's two codes: typed as printed, capitals, no spelling help or autofill. */
  const codeField = (name: 'ref' | 'code', label: string, placeholder: string) => (
    <Field label={label} required error={form.formState.errors[name]?.message}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          placeholder={placeholder}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          {...form.register(name, { required: `请填写${label}` })}
        />
      )}
    </Field>
  );
  return (
    <main className="public-page progress-page" id="main">
      <h1>学籍异动办理进度查询</h1>
      <p className="muted">输入回执上的查询编号和查询码（不区分大小写），无需登录。</p>
      <form onSubmit={check} noValidate>
        <ErrorSummary messages={summary} />
        {codeField('ref', '查询编号', '如 7KQ2-M9XD')}
        {codeField('code', '查询码', '如 K7QM-2XD9-PA')}
        <button type="submit" className="primary wide" disabled={form.formState.isSubmitting}>
          {form.formState.isSubmitting ? '正在查询…' : '查询'}
        </button>
      </form>
      {result && <Progress r={result} />}
    </main>
  );
}

function Progress({ r }: { r: Result }) {
  return (
    <section className="verify-result progress" role="status" aria-labelledby="progress-title">
      <h2 id="progress-title">
        {r.type} · {r.statusText}
      </h2>
      {r.status === 'IN_REVIEW' && (
        <dl className="facts">
          <dt>当前环节</dt>
          <dd>{r.stage}</dd>
          <dt>办理单位</dt>
          <dd>{r.holder}</dd>
          <dt>自</dt>
          <dd>{r.since} 起办理</dd>
          <dt>办理期限</dt>
          <dd className={r.overdue ? 'late' : undefined}>
            {r.dueDate ? `${r.dueDate} 前` : '—'}
            {r.overdue ? '（已超期，已提醒办理单位）' : ''}
          </dd>
          {r.prediction && (
            <>
              <dt>预计办结</dt>
              <dd>
                <strong>{r.prediction.p50}</strong> 前后
                <div className="muted small">八成把握在 {r.prediction.p80} 前办结（按各单位以往的办理时长估计）</div>
              </dd>
            </>
          )}
        </dl>
      )}
      {r.reverses && (
        <p className="notice reversal-note">
          本业务为纠错申请：审核通过后，撤销{r.reverses.approvedOn ? ` ${r.reverses.approvedOn} 审核通过的` : ''}
          原业务{r.reverses.ref ? `（查询编号 ${r.reverses.ref}）` : ''}所作的学籍变更。
        </p>
      )}
      {r.reversal && (
        <p className={r.reversal.status === 'APPROVED' ? 'notice warn reversal-note' : 'notice reversal-note'}>
          <strong>{r.reversal.statusText}</strong>
          <span className="small">
            {' '}
            （纠错申请 {r.reversal.filedOn} 提交
            {r.reversal.closedOn ? `，${r.reversal.closedOn} 办结` : ''}
            {r.reversal.ref ? `，查询编号 ${r.reversal.ref}` : ''}）
          </span>
        </p>
      )}
      {r.closedOn && (
        <p className="small">
          {r.closedOn} 办结。{r.visibleUntil ? `本页可查询到 ${r.visibleUntil}。` : '纠错办结前本页一直可以查询。'}
        </p>
      )}
      <h3>办理经过</h3>
      <ol className="progress-steps">
        {r.steps.map((s, i) => (
          <li key={i} className={s.decidedOn ? 'done' : s.openedOn ? 'current' : 'todo'}>
            <span className="step-stage">{s.stage}</span>
            <span className="step-org">{s.org}</span>
            <span className="muted small">
              {s.decidedOn ? `${s.decidedOn} ${s.result}` : s.openedOn ? `${s.openedOn} 起办理中` : '未开始'}
            </span>
          </li>
        ))}
      </ol>
      <p className="muted small">
        提交于 {r.filedOn} · 查询编号 {r.ref}。为保护隐私，本页不显示姓名、证件号码和审核意见；详情请联系申请学校。
      </p>
    </section>
  );
}
