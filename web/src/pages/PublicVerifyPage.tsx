import { api, ok, type Schemas } from '../api/client';
import { formatDay } from '../api/labels';
import { ErrorSummary, Field } from '../components/forms';
import { usePublicLookup } from '../components/publicLookup';

type Result = Schemas['VerifyDocumentResult'];

/**
 * 文件核验 — a public page, no login: whoever holds a printed 审批表 or 联系函 checks that this system issued it and
 * that it still stands. The QR code opens /verify/<reference>#<code>; the code is read from the fragment (which a
 * browser never sends anywhere) and sent by POST.
 */
export function PublicVerifyPage() {
  const { form, result, summary, check } = usePublicLookup<Result>('文件核验 · 学籍异动', (v) =>
    ok(api.POST('/api/public/verify', { body: { ref: v.ref, code: v.code } })),
  );
  const f = result?.facts;
  return (
    <main className="public-page" id="main">
      <h1>学籍异动文件核验</h1>
      <p className="muted">
        输入文件下方“防伪核验”处的文件编号和核验码（不区分大小写），可查验文件是否由本系统出具、是否已作废。
      </p>
      <form onSubmit={check} noValidate>
        <ErrorSummary messages={summary} />
        <Field label="文件编号" required error={form.formState.errors.ref?.message}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              autoComplete="off"
              spellCheck={false}
              placeholder="如 7KQ2-M9XD"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('ref', { required: '请填写文件编号' })}
            />
          )}
        </Field>
        <Field label="核验码" required error={form.formState.errors.code?.message}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              autoComplete="off"
              spellCheck={false}
              placeholder="如 K7QM-2XD9-PA"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('code', { required: '请填写核验码' })}
            />
          )}
        </Field>
        <button type="submit" className="primary" disabled={form.formState.isSubmitting}>
          {form.formState.isSubmitting ? '正在核验…' : '核验'}
        </button>
      </form>
      {result && f && (
        <section
          className={result.status === 'VALID' ? 'verify-result valid' : 'verify-result revoked'}
          role="status"
          aria-labelledby="verify-title"
        >
          <h2 id="verify-title">{result.status === 'VALID' ? '✓ 本系统出具的有效文件' : '✗ 该文件已作废'}</h2>
          {result.status === 'REVOKED' && (
            <p>该文件已于 {formatDay(result.revokedAt)} 由系统管理员作废，请向出具单位索取新的文件。</p>
          )}
          <dl className="facts">
            <dt>文件</dt>
            <dd>{f.title}</dd>
            <dt>出具</dt>
            <dd>
              {f.issuedBy}，{formatDay(f.issuedAt)}
            </dd>
            <dt>业务</dt>
            <dd>
              {f.applicationType}（出具时{f.statusAtIssue}）
            </dd>
            <dt>学生</dt>
            <dd>{f.studentName}</dd>
            <dt>{f.toSchool ? '转出学校' : '学校'}</dt>
            <dd>{f.fromSchool}</dd>
            {f.toSchool && (
              <>
                <dt>转入学校</dt>
                <dd>{f.toSchool}</dd>
              </>
            )}
            <dt>异动日期</dt>
            <dd>{f.effectiveDate}</dd>
          </dl>
          {f.decisions.length > 0 && (
            <>
              <h3>审核</h3>
              <ol className="plain-list">
                {f.decisions.map((d, i) => (
                  <li key={i}>
                    {d.date} · {d.org}（{d.stage}）{d.result}
                  </li>
                ))}
              </ol>
            </>
          )}
          <p className="muted small">为保护学生隐私，本页只显示部分姓名，不显示证件号码和审核意见。</p>
        </section>
      )}
    </main>
  );
}
