import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, ok } from '../api/client';
import {
  CHANGE_TYPE_LABELS,
  CHANGE_TYPES,
  formatTime,
  STATUS_LABELS,
  type ApplicationStatus,
  type ChangeType,
} from '../api/labels';
import { useSession } from '../auth';
import { caseTitle, LoadError, Loading, StatusBadge, whereIs } from '../components/bits';
import { saveQueue } from '../components/queue';

const STATUSES = Object.keys(STATUS_LABELS) as ApplicationStatus[];

/** Every case the caller's organisation may see (admin: all), newest first, with filters kept in the URL. */
export function CasesPage() {
  const { user } = useSession();
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') || undefined) as ApplicationStatus | undefined;
  const type = (params.get('type') || undefined) as ChangeType | undefined;
  const overdue = params.get('overdue') === 'true' ? ('true' as const) : undefined;
  const q = useInfiniteQuery({
    queryKey: ['applications', { status, type, overdue }],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      ok(api.GET('/api/applications', { params: { query: { status, type, overdue, limit: 50, cursor: pageParam } } })),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  const title = user?.role === 'ADMIN' ? '全部业务' : user?.role === 'COUNTY_OFFICER' ? '本县业务' : '本校业务';
  useEffect(() => {
    document.title = `${title} · 学籍异动`;
  }, [title]);
  useEffect(() => {
    if (items.length)
      saveQueue({ ids: items.map((a) => a.id), from: `/applications?${params.toString()}`, label: title });
  }, [items, params, title]);

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <section>
      <h1>{title}</h1>
      <div className="filters" role="search" aria-label="筛选">
        <label>
          状态{' '}
          <select value={status ?? ''} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">全部</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          类型{' '}
          <select value={type ?? ''} onChange={(e) => setFilter('type', e.target.value)}>
            <option value="">全部</option>
            {CHANGE_TYPES.map((t) => (
              <option key={t} value={t}>
                {CHANGE_TYPE_LABELS[t]}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={!!overdue}
            onChange={(e) => setFilter('overdue', e.target.checked ? 'true' : '')}
          />{' '}
          只看超期
        </label>
      </div>
      {q.isPending ? (
        <Loading what="业务" />
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : items.length === 0 ? (
        <p className="empty">没有符合条件的业务。</p>
      ) : (
        <>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">编号</th>
                <th scope="col">业务</th>
                <th scope="col">学籍号</th>
                <th scope="col">状态</th>
                <th scope="col">当前所在</th>
                <th scope="col">提交时间</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id}>
                  <td>{a.id}</td>
                  <td>
                    <Link className="case-link" to={`/applications/${a.id}`}>
                      {caseTitle(a)}
                    </Link>
                    <div className="muted small">
                      {a.fromSchool.name}
                      {a.toSchool ? ` → ${a.toSchool.name}` : ''}
                    </div>
                  </td>
                  <td className="mono">{a.student.studentNo}</td>
                  <td>
                    <StatusBadge a={a} />
                  </td>
                  <td>{whereIs(a)}</td>
                  <td>{formatTime(a.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {q.hasNextPage && (
            <button
              type="button"
              className="secondary"
              onClick={() => void q.fetchNextPage()}
              disabled={q.isFetchingNextPage}
            >
              {q.isFetchingNextPage ? '正在加载…' : '加载更多'}
            </button>
          )}
        </>
      )}
    </section>
  );
}
