/**
 * A horizontal grouped bar chart in plain SVG: one group per row (stage, organisation), one bar per
 * series. Small enough to write here rather than pull in a chart library; its numbers are also in the
 * table beside it for screen readers and for copying.
 */
export interface Series {
  name: string;
  className: string;
}
export interface Row {
  label: string;
  values: (number | null)[];
}

const LABEL_W = 190;
const BAR_H = 14;
const GAP = 10;
const WIDTH = 640;

export function BarChart(props: { title: string; series: Series[]; rows: Row[]; format?: (v: number) => string }) {
  const format = props.format ?? ((v: number) => String(v));
  // Scaled to the largest value, not to at least 1: times of minutes (0.02 hours) still draw visible bars.
  const max = Math.max(Number.EPSILON, ...props.rows.flatMap((r) => r.values.map((v) => v ?? 0)));
  const groupH = props.series.length * BAR_H + GAP;
  const height = props.rows.length * groupH + 30;
  const plotW = WIDTH - LABEL_W - 70;
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div className="legend" aria-hidden="true">
        {props.series.map((s) => (
          <span key={s.name}>
            <i className={`swatch ${s.className}`} /> {s.name}
          </span>
        ))}
      </div>
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={props.title} preserveAspectRatio="xMinYMin meet">
        {props.rows.map((r, i) => {
          const y0 = i * groupH + 4;
          return (
            <g key={r.label}>
              <text
                x={LABEL_W - 8}
                y={y0 + (props.series.length * BAR_H) / 2 + 5}
                textAnchor="end"
                className="chart-label"
              >
                {r.label}
              </text>
              {props.series.map((s, j) => {
                const v = r.values[j];
                // Every value above zero gets a bar, however short next to the longest (a stage decided in minutes).
                const w = v === null ? 0 : Math.max(v > 0 ? 3 : 0, (v / max) * plotW);
                const y = y0 + j * BAR_H;
                return (
                  <g key={s.name}>
                    <rect x={LABEL_W} y={y} width={w} height={BAR_H - 2} className={`bar ${s.className}`}>
                      <title>{`${r.label} · ${s.name}：${v === null ? '无数据' : format(v)}`}</title>
                    </rect>
                    <text x={LABEL_W + w + 4} y={y + BAR_H - 4} className="chart-value">
                      {v === null ? '—' : format(v)}
                    </text>
                  </g>
                );
              })}
            </g>
          );
        })}
        <line x1={LABEL_W} x2={LABEL_W} y1={0} y2={height - 26} className="axis" />
      </svg>
    </figure>
  );
}
