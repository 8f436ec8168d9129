import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, ApiError, ok } from '../api/client';
import { formatTime } from '../api/labels';
import { LoadError, Loading } from '../components/bits';

type Filters = { actor?: string; org?: string; applicationId?: number; action?: string; from?: string; to?: string };

/** The audit trail with filters, and whether the hash chain verifies (with its head hash). Administrators. */
export function AuditPage() {
  const [draft, setDraft] = useState({ actor: '', org: '', applicationId: '', action: '', from: '', to: '' });
  const [filters, setFilters] = useState<Filters>({});
  const [checking, setChecking] = useState(false);
  useEffect(() => {
    document.title = '审计记录 · 学籍异动';
  }, []);
  const q = useInfiniteQuery({
    queryKey: ['audit', filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      ok(api.GET('/api/admin/audit', { params: { query: { ...filters, limit: 50, cursor: pageParam } } })),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const verify = useQuery({
    queryKey: ['audit-verify'],
    queryFn: () => ok(api.GET('/api/admin/audit/verify')),
    enabled: checking,
    staleTime: 0,
  });
  const items = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  // A filter the API refuses (400) is told next to its field: the problem+json names it (action, to …).
  const refused = q.error instanceof ApiError && q.error.status === 400 ? q.error.errors : [];
  const errorOf = (k: keyof typeof draft) => refused.find((p) => p.path === k)?.message;
  const placed = refused.length > 0 && refused.every((p) => p.path in draft);
  const field = (k: keyof typeof draft, label: string, type = 'text', placeholder = '') => {
    const error = errorOf(k);
    return (
      <div className="filter-field">
        <label>
          {label}
          <input
            type={type}
            value={draft[k]}
            placeholder={placeholder}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `audit-${k}-error` : undefined}
            onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
          />
        </label>
        {error && (
          <p className="field-error" id={`audit-${k}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  };
  return (
    <section>
      <h1>审计记录</h1>
      <div className="panel">
        <h2>审计链校验</h2>
        <p className="hint">
          逐条核对每条记录的哈希和前一条的链接：改动或删除任何一条都会被发现。请另行保存链头哈希，以便发现最新记录被删除。
        </p>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setChecking(true);
            void verify.refetch();
          }}
          disabled={verify.isFetching}
        >
          {verify.isFetching ? '正在校验…' : '校验审计链'}
        </button>
        {verify.data && (
          <p className={verify.data.ok ? 'notice' : 'error-summary'} role="status">
            {verify.data.ok ? (
              <>
                审计链完整：共 {verify.data.count} 条。链头哈希 <code className="hash">{verify.data.headHash}</code>
              </>
            ) : (
              <>
                审计链已损坏：第 {verify.data.brokenAt} 条（{verify.data.reason}）。已核对 {verify.data.count} 条。
              </>
            )}
          </p>
        )}
      </div>
      <form
        className="filters"
        role="search"
        aria-label="筛选审计记录"
        onSubmit={(e) => {
          e.preventDefault();
          const t = (s: string) => s.trim() || undefined;
          setFilters({
            actor: t(draft.actor),
            org: t(draft.org),
            applicationId: draft.applicationId.trim() ? Number(draft.applicationId) : undefined,
            action: t(draft.action),
            from: t(draft.from),
            to: t(draft.to),
          });
        }}
      >
        {field('actor', '操作人', 'text', '用户名')}
        {field('org', '单位代码')}
        {field('applicationId', '业务编号', 'text')}
        {field('action', '操作类型', 'text', '如 application.* 或 auth.login')}
        {field('from', '起始日期', 'date')}
        {field('to', '截止日期', 'date')}
        <button type="submit" className="primary">
          筛选
        </button>
      </form>
      {q.isPending ? (
        <Loading what="审计记录" />
      ) : placed ? (
        <p className="error-summary" role="alert">
          筛选条件有误，请按提示修改后再筛选。
        </p>
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : items.length === 0 ? (
        <p className="empty">没有符合条件的记录。</p>
      ) : (
        <>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">序号</th>
                <th scope="col">时间</th>
                <th scope="col">操作人</th>
                <th scope="col">操作</th>
                <th scope="col">对象</th>
                <th scope="col">内容</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.seq}>
                  <td data-label="序号">{e.seq}</td>
                  <td data-label="时间" className="nowrap">
                    {formatTime(e.at)}
                  </td>
                  <td data-label="操作人">
                    {e.actor?.name ?? '—'}
                    {e.orgCode && <div className="muted small">{e.orgCode}</div>}
                  </td>
                  <td data-label="操作" className="mono">
                    {e.action}
                  </td>
                  <td data-label="对象">
                    {e.applicationId ? (
                      <Link to={`/applications/${e.applicationId}`}>业务 {e.applicationId}</Link>
                    ) : null}
                    {!e.applicationId && e.entityType ? `${e.entityType} ${e.entityId ?? ''}` : null}
                  </td>
                  <td data-label="内容" className="small details-cell">
                    {e.details ? JSON.stringify(e.details) : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {q.hasNextPage && (
            <button type="button" className="secondary" onClick={() => void q.fetchNextPage()}>
              {q.isFetchingNextPage ? '正在加载…' : '加载更多'}
            </button>
          )}
        </>
      )}
    </section>
  );
}
