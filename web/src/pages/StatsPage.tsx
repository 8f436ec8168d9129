import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, ok, saveBlob, type Schemas } from '../api/client';
import { areaWord, formatHours, formatTime, stageLabel } from '../api/labels';
import { BarChart, type Row } from '../components/BarChart';
import { LoadError, Loading } from '../components/bits';
import { useSession } from '../auth';

type Measures = Schemas['Stats']['byStage'][number];

const hours = (v: number) => formatHours(v);

function Charts({ title, rows }: { title: string; rows: { label: string; m: Omit<Measures, 'stage'> }[] }) {
  const load: Row[] = rows.map((r) => ({ label: r.label, values: [r.m.open, r.m.overdue] }));
  const time: Row[] = rows.map((r) => ({ label: r.label, values: [r.m.medianHours, r.m.p90Hours] }));
  return (
    <section className="stats-block">
      <h2>{title}</h2>
      <div className="chart-pair">
        <BarChart
          title={`${title}：在办与超期（件）`}
          series={[
            { name: '在办', className: 's-open' },
            { name: '超期', className: 's-overdue' },
          ]}
          rows={load}
        />
        <BarChart
          title={`${title}：办理用时（中位数 / 90 分位）`}
          series={[
            { name: '中位数', className: 's-median' },
            { name: '90 分位', className: 's-p90' },
          ]}
          rows={time}
          format={hours}
        />
      </div>
      <details>
        <summary>查看数据表</summary>
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{title.replace('按', '')}</th>
              <th scope="col">在办</th>
              <th scope="col">超期</th>
              <th scope="col">已办结环节</th>
              <th scope="col">用时中位数</th>
              <th scope="col">用时 90 分位</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.label}>
                <th scope="row">{r.label}</th>
                <td data-label="在办">{r.m.open}</td>
                <td data-label="超期">{r.m.overdue}</td>
                <td data-label="已办结环节">{r.m.decided}</td>
                <td data-label="用时中位数">{formatHours(r.m.medianHours)}</td>
                <td data-label="用时 90 分位">{formatHours(r.m.p90Hours)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}

/** Workload and time in stage, per stage and per holder organisation, as charts, with the Excel download. */
export function StatsPage() {
  const { user } = useSession();
  // The route also answers Excel (format=xlsx); asked for JSON, it is the Stats document.
  const q = useQuery({
    queryKey: ['stats'],
    queryFn: async () =>
      (await ok(api.GET('/api/stats', { params: { query: { format: 'json' } } }))) as Schemas['Stats'],
  });
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    document.title = '统计 · 学籍异动';
  }, []);
  const download = async () => {
    setError(null);
    const { data, response } = await api.GET('/api/stats.xlsx', { parseAs: 'blob' });
    if (response.ok && data) saveBlob(data as Blob, `学籍异动统计-${new Date().toISOString().slice(0, 10)}.xlsx`);
    else setError('导出失败，请稍后重试');
  };
  return (
    <section>
      <h1>{user?.role === 'ADMIN' ? '办理统计' : `${areaWord(user)}办理统计`}</h1>
      <p>
        <button type="button" className="secondary" onClick={() => void download()}>
          导出 Excel
        </button>
        {error && <span className="field-error"> {error}</span>}
      </p>
      {q.isPending ? (
        <Loading what="统计" />
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : (
        <>
          <p className="muted">统计时间 {formatTime(q.data.generatedAt)}。用时按已办结的环节计算（含各轮次）。</p>
          <Charts title="按环节" rows={q.data.byStage.map((m) => ({ label: stageLabel(m.stage), m }))} />
          <Charts title="按单位" rows={q.data.byOrg.map((m) => ({ label: m.org.name, m }))} />
        </>
      )}
    </section>
  );
}
