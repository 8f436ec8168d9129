import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link } from 'react-router';
import { api, ok } from '../api/client';
import { CHANGE_TYPE_LABELS, formatTime, stageLabel } from '../api/labels';
import { LoadError, Loading } from '../components/bits';
import { ErrorSummary, Field, useProblemSubmit } from '../components/forms';

const EXAMPLE = `{
  "source": "国务院办公厅关于2027年部分节假日安排的通知",
  "holidays": [{ "name": "元旦", "dates": ["2027-01-01", "2027-01-02", "2027-01-03"] }],
  "workdays": []
}`;

/** The working calendar: the years whose holidays are known, loading a new year, and the provisional due dates. */
export function CalendarPage() {
  const queryClient = useQueryClient();
  const overview = useQuery({ queryKey: ['calendar'], queryFn: () => ok(api.GET('/api/admin/calendar')) });
  const open = useQuery({
    queryKey: ['stuck', 'all'],
    queryFn: () => ok(api.GET('/api/admin/stuck', { params: { query: { kind: 'all', limit: 500 } } })),
  });
  const provisional = (open.data?.items ?? []).filter((c) => c.dueProvisional);
  const [notice, setNotice] = useState<string | null>(null);
  const form = useForm<{ year: string; json: string }>({
    defaultValues: { year: String(new Date().getFullYear() + 1), json: '' },
  });
  const { submit, summary } = useProblemSubmit(form, ['year', 'json'], async (v) => {
    let body: unknown;
    try {
      body = JSON.parse(v.json);
    } catch {
      form.setError('json', { message: '不是合法的 JSON，请对照示例检查括号、引号和逗号' }, { shouldFocus: true });
      return;
    }
    const year = Number(v.year);
    const r = await ok(
      api.PUT('/api/admin/calendar/{year}', { params: { path: { year: String(year) } }, body: body as never }),
    );
    setNotice(`已载入 ${year} 年的节假日安排，重算了 ${r.recomputed} 件在办业务的暂定期限。`);
    await queryClient.invalidateQueries({ queryKey: ['calendar'] });
    await queryClient.invalidateQueries({ queryKey: ['stuck'] });
  });
  useEffect(() => {
    document.title = '工作日历 · 学籍异动';
  }, []);
  return (
    <section>
      <h1>工作日历</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {overview.isPending ? (
        <Loading what="日历" />
      ) : overview.isError ? (
        <LoadError error={overview.error} />
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">年份</th>
              <th scope="col">来源</th>
              <th scope="col">放假 / 调休上班</th>
              <th scope="col">载入时间</th>
            </tr>
          </thead>
          <tbody>
            {overview.data.years.map((y) => (
              <tr key={y.year}>
                <td data-label="年份">{y.year}</td>
                <td data-label="来源">
                  {y.origin === 'builtin' ? '随系统发布' : '管理员载入'}
                  {y.source && <div className="muted small">{y.source}</div>}
                </td>
                <td data-label="放假 / 调休上班">
                  {y.holidays} 天 / {y.workdays} 天
                </td>
                <td data-label="载入时间">{formatTime(y.loadedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>暂定的办理期限（{provisional.length} 件）</h2>
      <p className="hint">期限跨入尚未载入节假日安排的年份时，暂按周一至周五计算；载入该年后自动重算。</p>
      {provisional.length === 0 ? (
        <p className="empty">没有暂定期限的在办业务。</p>
      ) : (
        <ul className="plain-list">
          {provisional.map((c) => (
            <li key={c.id}>
              <Link className="case-link" to={`/applications/${c.id}`}>
                {CHANGE_TYPE_LABELS[c.type]} · {c.student.name}（编号 {c.id}）
              </Link>{' '}
              <span className="small">
                {stageLabel(c.currentStage)} · 期限 {formatTime(c.dueAt)}（暂定）
              </span>
            </li>
          ))}
        </ul>
      )}
      <h2>载入一年的节假日安排</h2>
      <form onSubmit={submit} noValidate className="form-page">
        <ErrorSummary messages={summary} />
        <Field label="年份" required error={form.formState.errors.year?.message}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              inputMode="numeric"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('year', { required: '请填写年份' })}
            />
          )}
        </Field>
        <Field
          label="安排（JSON）"
          required
          error={form.formState.errors.json?.message}
          hint={
            <>
              按国务院办公厅的通知填写：每个节日放假的全部日期，以及调休上班的周六、周日。示例：
              <pre className="example">{EXAMPLE}</pre>
            </>
          }
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={8}
              spellCheck={false}
              className="mono"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('json', { required: '请填写安排' })}
            />
          )}
        </Field>
        <button type="submit" className="primary" disabled={form.formState.isSubmitting}>
          载入并重算期限
        </button>
      </form>
    </section>
  );
}
