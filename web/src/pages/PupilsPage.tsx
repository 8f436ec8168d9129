import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, ok } from '../api/client';
import { areaWord, GENDER_LABELS, STUDENT_STATUS_LABELS } from '../api/labels';
import { useSession } from '../auth';
import { LoadError, Loading } from '../components/bits';
import { useListKeys } from '../components/queue';

/** 学籍查询: pupils within the caller's reach, by name (a part is enough) or the whole 学籍号. */
export function PupilsPage() {
  const { user } = useSession();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const list = useRef<HTMLDivElement>(null);
  const onKeyDown = useListKeys(list, 'a.pupil-link');
  const res = useQuery({
    queryKey: ['pupils', q],
    queryFn: () => ok(api.GET('/api/pupils', { params: { query: { q } } })),
    enabled: q.length > 0,
  });
  useEffect(() => {
    document.title = '学籍查询 · 学籍异动';
  }, []);
  return (
    <section onKeyDown={onKeyDown}>
      <h1>学籍查询</h1>
      <p className="hint">
        查找{user?.role === 'COUNTY_OFFICER' ? `${areaWord(user)}学校` : areaWord(user)}
        的学生，以及与本单位有在办业务、近 30 天转出的学生。列表中的学籍号只显示部分号码。
      </p>
      <form
        className="search-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setParams(text.trim() ? { q: text.trim() } : {}, { replace: true });
        }}
      >
        <label htmlFor="pupil-q" className="sr-only">
          姓名或学籍号
        </label>
        <input
          id="pupil-q"
          type="search"
          value={text}
          placeholder="姓名（可只写一部分）或完整学籍号"
          autoComplete="off"
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="primary">
          查询
        </button>
        {user?.role === 'SCHOOL_CLERK' && (
          <Link className="button-link secondary" to="/pupils/new">
            新生建籍
          </Link>
        )}
      </form>
      {!q ? null : res.isPending ? (
        <Loading what="学生" />
      ) : res.isError ? (
        <LoadError error={res.error} />
      ) : res.data.items.length === 0 ? (
        <p className="empty">没有找到“{q}”。只能查到本单位可查看的学生；外校学生请在“新建申请”中按学校和姓名查找。</p>
      ) : (
        <div ref={list}>
          <p className="muted">
            共 {res.data.items.length}
            {res.data.more ? '+（只显示前 50 名，请输入更完整的姓名）' : ''} 名。键盘 J / K 移动，Enter 打开。
          </p>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">姓名</th>
                <th scope="col">学籍号</th>
                <th scope="col">学校</th>
                <th scope="col">年级班级</th>
                <th scope="col">学籍状态</th>
              </tr>
            </thead>
            <tbody>
              {res.data.items.map((p) => (
                <tr key={p.ref}>
                  <td data-label="姓名">
                    <Link className="case-link pupil-link" to={`/pupils/${p.ref}`}>
                      {p.name}
                    </Link>
                    <div className="muted small">
                      {GENDER_LABELS[p.gender]} · {p.birthDate} 生
                    </div>
                  </td>
                  <td data-label="学籍号" className="mono">
                    {p.studentNo}
                  </td>
                  <td data-label="学校">{p.schoolName}</td>
                  <td data-label="年级班级">
                    {p.grade} 年级 · {p.className}
                  </td>
                  <td data-label="学籍状态">
                    {STUDENT_STATUS_LABELS[p.status]}
                    {p.problemFlag && <span className="badge overdue">问题学籍</span>}
                    {p.openCase && <div className="warn-text small">{p.openCase.label}</div>}
                    {p.reversedChange && <div className="warn-text small">{p.reversedChange.label}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
