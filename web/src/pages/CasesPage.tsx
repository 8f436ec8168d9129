import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, ok } from '../api/client';
import {
  areaWord,
  CHANGE_TYPE_LABELS,
  CHANGE_TYPES,
  formatTime,
  STATUS_LABELS,
  type ApplicationStatus,
  type ChangeType,
} from '../api/labels';
import { useSession } from '../auth';
import { caseTitle, LoadError, Loading, PredictionText, StatusBadge, whereIs } from '../components/bits';
import { saveQueue, useListKeys } from '../components/queue';

const STATUSES = Object.keys(STATUS_LABELS) as ApplicationStatus[];

/** Every case the caller's organisation may see (admin: all), newest first, with filters kept in the URL. */
export function CasesPage() {
  const { user } = useSession();
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') || undefined) as ApplicationStatus | undefined;
  const type = (params.get('type') || undefined) as ChangeType | undefined;
  const overdue = params.get('overdue') === 'true' ? ('true' as const) : undefined;
  const search = params.get('q') || undefined;
  const [text, setText] = useState(search ?? '');
  const list = useRef<HTMLTableSectionElement>(null);
  const onKeyDown = useListKeys(list, 'a.case-link');
  const q = useInfiniteQuery({
    queryKey: ['applications', { status, type, overdue, search }],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      ok(
        api.GET('/api/applications', {
          params: { query: { status, type, overdue, q: search, limit: 50, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  // 全部业务 (admin), 本校业务, or the bureau's area: 本县业务, 本市业务, 本省业务.
  const title = `${areaWord(user)}业务`;
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
    <section onKeyDown={onKeyDown}>
      <h1>{title}</h1>
      <form
        className="search-row"
        role="search"
        aria-label="按学生查找"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter('q', text.trim());
        }}
      >
        <label htmlFor="cases-q" className="sr-only">
          学生姓名或学籍号
        </label>
        <input
          id="cases-q"
          type="search"
          value={text}
          placeholder="学生姓名或完整学籍号"
          autoComplete="off"
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="primary">
          查找
        </button>
      </form>
      <div className="filters" role="group" aria-label="筛选">
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
          <p className="hint">
            键盘：J / K 或 ↓ / ↑ 在列表中移动，Enter 打开；在业务页用 J / K 转到下一件 / 上一件，A / T / B 审核。
          </p>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">编号</th>
                <th scope="col">业务</th>
                <th scope="col">学籍号</th>
                <th scope="col">状态</th>
                <th scope="col">当前所在</th>
                <th scope="col" title="依据各办理单位近 12 个月的办理时长估计：一半把握的日期，及八成把握的日期">
                  预计办结
                </th>
                <th scope="col">提交时间</th>
              </tr>
            </thead>
            <tbody ref={list}>
              {items.map((a) => (
                <tr key={a.id}>
                  <td data-label="编号">{a.id}</td>
                  <td data-label="业务">
                    <Link className="case-link" to={`/applications/${a.id}`}>
                      {caseTitle(a)}
                    </Link>
                    <div className="muted small">
                      {a.fromSchool.name}
                      {a.toSchool ? ` → ${a.toSchool.name}` : ''}
                    </div>
                  </td>
                  <td data-label="学籍号" className="mono">
                    {a.student.studentNo}
                  </td>
                  <td data-label="状态">
                    <StatusBadge a={a} />
                  </td>
                  <td data-label="当前所在">{whereIs(a)}</td>
                  <td data-label="预计办结">
                    <PredictionText a={a} />
                  </td>
                  <td data-label="提交时间">{formatTime(a.createdAt)}</td>
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
