import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, ok, type Application } from '../api/client';
import { CHANGE_TYPE_LABELS, formatTime, STAGE_LABELS, type ChangeType } from '../api/labels';
import { useSession } from '../auth';
import {
  caseTitle,
  currentDue,
  DueText,
  LoadError,
  Loading,
  PredictionText,
  StatusBadge,
  useNow,
} from '../components/bits';
import { saveQueue, typingInto } from '../components/queue';

/** When a case arrived in the caller's 待办: its current stage's opening, or the return for a returned case. */
function since(a: Application): string | null {
  if (a.status === 'RETURNED') {
    const times = a.steps.map((s) => s.decidedAt).filter((t): t is string => !!t);
    return times.sort().at(-1) ?? null;
  }
  return a.steps.find((s) => s.stage === a.currentStage)?.openedAt ?? null;
}

export function TasksPage() {
  const { user } = useSession();
  const navigate = useNavigate();
  const tasks = useQuery({ queryKey: ['tasks'], queryFn: () => ok(api.GET('/api/tasks')) });
  const items = useMemo(() => tasks.data?.items ?? [], [tasks.data]);
  const list = useRef<HTMLTableSectionElement>(null);
  const now = useNow();

  useEffect(() => {
    document.title = '待办 · 学籍异动';
  }, []);
  // The reviewer works down this list: the case page offers previous/next in this order.
  useEffect(() => {
    if (items.length) saveQueue({ ids: items.map((a) => a.id), from: '/tasks', label: '待办' });
  }, [items]);

  const counts = useMemo(() => {
    const byType = new Map<ChangeType, number>();
    for (const a of items) byType.set(a.type, (byType.get(a.type) ?? 0) + 1);
    return {
      byType: [...byType.entries()],
      returned: items.filter((a) => a.status === 'RETURNED').length,
      overdue: items.filter((a) => {
        const due = currentDue(a);
        return due && Date.parse(due) < now;
      }).length,
    };
  }, [items, now]);

  /** J/K (and arrow keys) move between rows of the list, Enter opens: many cases in a row without the mouse. */
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (typingInto(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    const rows = [...(list.current?.querySelectorAll<HTMLAnchorElement>('a.case-link') ?? [])];
    const i = rows.indexOf(document.activeElement as HTMLAnchorElement);
    const go = (j: number) => rows[Math.max(0, Math.min(rows.length - 1, j))]?.focus();
    if (e.key === 'j' || e.key === 'ArrowDown') {
      e.preventDefault();
      go(i + 1);
    } else if (e.key === 'k' || e.key === 'ArrowUp') {
      e.preventDefault();
      go(i - 1);
    }
  };

  return (
    <section onKeyDown={onKeyDown}>
      <h1>待办业务</h1>
      {tasks.isPending ? (
        <Loading what="待办" />
      ) : tasks.isError ? (
        <LoadError error={tasks.error} />
      ) : (
        <>
          <ul className="tiles" aria-label="待办数量">
            <li className="tile">
              <span className="tile-n">{tasks.data.total}</span> 件待办
            </li>
            {counts.byType.map(([type, n]) => (
              <li className="tile" key={type}>
                <span className="tile-n">{n}</span> {CHANGE_TYPE_LABELS[type]}
              </li>
            ))}
            {counts.returned > 0 && (
              <li className="tile warn">
                <span className="tile-n">{counts.returned}</span> 件被退回待修改
              </li>
            )}
            {counts.overdue > 0 && (
              <li className="tile danger">
                <span className="tile-n">{counts.overdue}</span> 件已超期
              </li>
            )}
          </ul>
          {items.length === 0 ? (
            <p className="empty">
              没有待办业务。
              {user?.role === 'SCHOOL_CLERK' && (
                <>
                  {' '}
                  <Link to="/applications/new">新建一份申请</Link>
                </>
              )}
            </p>
          ) : (
            <>
              <p className="hint">
                键盘：J / K 或 ↓ / ↑ 在列表中移动，Enter 打开；在业务页用 J / K 转到下一件 / 上一件。
              </p>
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">编号</th>
                    <th scope="col">业务</th>
                    <th scope="col">待办环节</th>
                    <th scope="col">到达时间</th>
                    <th scope="col">办理期限</th>
                    <th scope="col" title="依据各办理单位近 12 个月的办理时长估计：一半把握的日期，及八成把握的日期">
                      预计办结
                    </th>
                    <th scope="col">状态</th>
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
                      <td data-label="待办环节">
                        {a.status === 'RETURNED'
                          ? '修改后重新提交'
                          : a.currentStage
                            ? STAGE_LABELS[a.currentStage]
                            : '—'}
                      </td>
                      <td data-label="到达时间">{formatTime(since(a))}</td>
                      <td data-label="办理期限">
                        <DueText dueAt={currentDue(a)} />
                      </td>
                      <td data-label="预计办结">
                        <PredictionText a={a} />
                      </td>
                      <td data-label="状态">
                        <StatusBadge a={a} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <button type="button" className="secondary" onClick={() => void navigate(`/applications/${items[0].id}`)}>
                从第一件开始审核
              </button>
            </>
          )}
        </>
      )}
    </section>
  );
}
