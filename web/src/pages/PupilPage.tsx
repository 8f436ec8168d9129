import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useParams } from 'react-router';
import { api, ok } from '../api/client';
import {
  CHANGE_TYPE_LABELS,
  formatTime,
  GENDER_LABELS,
  STATUS_LABELS,
  STUDENT_STATUS_LABELS,
  stageLabel,
} from '../api/labels';
import { LoadError, Loading } from '../components/bits';

/** A pupil's page: the record, the whole change history with links to the cases, and every case one may open. */
export function PupilPage() {
  const ref = useParams().ref ?? '';
  const q = useQuery({
    queryKey: ['pupil', ref],
    queryFn: () => ok(api.GET('/api/pupils/{ref}', { params: { path: { ref } } })),
  });
  const p = q.data;
  useEffect(() => {
    document.title = `${p?.name ?? '学生'} · 学籍查询 · 学籍异动`;
  }, [p?.name]);
  return (
    <article className="pupil">
      <nav className="case-nav" aria-label="返回">
        <Link to="/pupils">← 学籍查询</Link>
      </nav>
      <h1>{p ? `${p.name} 的学籍` : '学生学籍'}</h1>
      {q.isPending ? (
        <Loading what="学籍" />
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : p ? (
        <>
          {p.openCase && (
            <p className="notice warn" role="status">
              {p.openCase.label}
              {p.openCase.applicationId && (
                <>
                  {' '}
                  <Link to={`/applications/${p.openCase.applicationId}`}>打开业务 {p.openCase.applicationId}</Link>
                </>
              )}
            </p>
          )}
          {p.reversedChange && (
            <p className="notice warn reversed-change" role="status">
              {p.reversedChange.label}
              {p.reversedChange.reversalId && (
                <>
                  {' '}
                  <Link to={`/applications/${p.reversedChange.reversalId}`}>
                    打开纠错业务 {p.reversedChange.reversalId}
                  </Link>
                </>
              )}
            </p>
          )}
          <dl className="facts">
            <dt>全国学籍号</dt>
            <dd className="mono">{p.studentNo}</dd>
            <dt>性别</dt>
            <dd>{GENDER_LABELS[p.gender]}</dd>
            <dt>出生日期</dt>
            <dd>{p.birthDate}</dd>
            <dt>学校</dt>
            <dd>{p.schoolName}</dd>
            <dt>年级班级</dt>
            <dd>
              {p.grade} 年级 · {p.className}
            </dd>
            <dt>学籍状态</dt>
            <dd>
              {STUDENT_STATUS_LABELS[p.status]}
              {p.problemFlag && <span className="badge overdue">问题学籍</span>}
            </dd>
          </dl>
          <h2>异动记录</h2>
          {p.history.length === 0 ? (
            <p className="empty">没有异动记录。</p>
          ) : (
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">异动</th>
                  <th scope="col">异动日期</th>
                  <th scope="col">变化</th>
                  <th scope="col">审批单位</th>
                </tr>
              </thead>
              <tbody>
                {p.history.map((h, i) => (
                  <tr key={i}>
                    <td data-label="异动">
                      {h.reverses !== null && '纠错 · '}
                      {h.applicationId ? (
                        <Link className="case-link" to={`/applications/${h.applicationId}`}>
                          {CHANGE_TYPE_LABELS[h.type]}（业务 {h.applicationId}）
                        </Link>
                      ) : (
                        CHANGE_TYPE_LABELS[h.type]
                      )}
                      {h.reverses !== null && <span className="small">，撤销业务 {h.reverses} 的变更</span>}
                    </td>
                    <td data-label="异动日期">{h.effectiveDate}</td>
                    <td data-label="变化">
                      {h.fromSchool && h.toSchool && h.fromSchool.code !== h.toSchool.code
                        ? `${h.fromSchool.name} → ${h.toSchool.name}`
                        : ''}
                      {h.fromStatus !== h.toStatus &&
                        ` ${STUDENT_STATUS_LABELS[h.fromStatus]} → ${STUDENT_STATUS_LABELS[h.toStatus]}`}
                      {h.fromGrade !== h.toGrade && ` ${h.fromGrade} 年级 → ${h.toGrade} 年级`}
                    </td>
                    <td data-label="审批单位" className="small">
                      {h.approvedBy.join(' → ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>业务</h2>
          {p.cases.length === 0 ? (
            <p className="empty">本单位可查看的业务中没有这名学生。</p>
          ) : (
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">业务</th>
                  <th scope="col">状态</th>
                  <th scope="col">学校</th>
                  <th scope="col">提交时间</th>
                </tr>
              </thead>
              <tbody>
                {p.cases.map((c) => (
                  <tr key={c.id}>
                    <td data-label="业务">
                      <Link className="case-link" to={`/applications/${c.id}`}>
                        {CHANGE_TYPE_LABELS[c.type]}（编号 {c.id}）
                      </Link>
                    </td>
                    <td data-label="状态">
                      {STATUS_LABELS[c.status]}
                      {c.currentStage && <span className="muted small"> · {stageLabel(c.currentStage)}</span>}
                    </td>
                    <td data-label="学校">
                      {c.fromSchool.name}
                      {c.toSchool ? ` → ${c.toSchool.name}` : ''}
                    </td>
                    <td data-label="提交时间">{formatTime(c.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </article>
  );
}
