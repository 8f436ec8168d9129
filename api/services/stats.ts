import ExcelJS from 'exceljs';
import type { PrismaClient } from '../../infra/db';
import { STAGE_LABELS } from '../../domain/labels';
import type { Stage } from '../../domain/types';

interface Measures {
  open: number;
  overdue: number;
  medianHours: number | null;
  p90Hours: number | null;
  decided: number;
}
export type StageStats = { stage: Stage } & Measures;
export type OrgStats = { org: { code: string; name: string } } & Measures;
export interface Stats {
  generatedAt: string;
  byStage: StageStats[];
  byOrg: OrgStats[];
}

interface Row {
  stage: Stage | null;
  orgCode: string | null;
  orgName: string | null;
  byStage: boolean;
  open: number;
  overdue: number;
  medianHours: number | null;
  p90Hours: number | null;
  decided: number;
}

/**
 * Workload and time in stage, per stage and per holder organisation, in one query: open cases (and the
 * overdue among them) are counted where they wait now; median and p90 are over every decided step of
 * any round. Grouping sets give both breakdowns from the same facts.
 */
export async function loadStats(prisma: PrismaClient, now = new Date()): Promise<Stats> {
  // Columns are timestamp(3) without time zone holding UTC: compare with "now" as UTC, not the session zone.
  const at = now.toISOString();
  const rows = await prisma.$queryRaw<Row[]>`
    with facts as (
      select a."currentStage" as stage, a."currentOrgCode" as org, true as open,
             coalesce(s."dueAt" < (${at}::timestamptz at time zone 'UTC'), false) as overdue,
             null::float8 as hours
        from "Application" a
        left join "ApplicationStep" s
          on s."applicationId" = a.id and s.round = a.round and s.stage = a."currentStage"
       where a.status = 'IN_REVIEW' and a."currentStage" is not null and a."currentOrgCode" is not null
      union all
      select s.stage, s."orgCode", false, false, extract(epoch from (s."decidedAt" - s."openedAt")) / 3600
        from "ApplicationStep" s
       where s.decision is not null and s."decidedAt" is not null and s."openedAt" is not null
    )
    select f.stage, f.org as "orgCode", o.name as "orgName", grouping(f.org) = 1 as "byStage",
           (count(*) filter (where f.open))::int as open,
           (count(*) filter (where f.overdue))::int as overdue,
           round((percentile_cont(0.5) within group (order by f.hours))::numeric, 1)::float8 as "medianHours",
           round((percentile_cont(0.9) within group (order by f.hours))::numeric, 1)::float8 as "p90Hours",
           count(f.hours)::int as decided
      from facts f
      left join "Organisation" o on o.code = f.org
     group by grouping sets ((f.stage), (f.org, o.name))
     order by "byStage" desc, f.stage, f.org`;
  const measures = (r: Row): Measures => ({
    open: r.open,
    overdue: r.overdue,
    medianHours: r.medianHours,
    p90Hours: r.p90Hours,
    decided: r.decided,
  });
  return {
    generatedAt: at,
    byStage: rows.filter((r) => r.byStage).map((r) => ({ stage: r.stage!, ...measures(r) })),
    byOrg: rows
      .filter((r) => !r.byStage)
      .map((r) => ({ org: { code: r.orgCode!, name: r.orgName ?? r.orgCode! }, ...measures(r) })),
  };
}

const HEADERS = ['在办', '超期', '中位用时(小时)', 'P90用时(小时)', '已办结'];

/** The same figures as a workbook: one sheet per breakdown, headers and stage names in Chinese. */
export async function statsWorkbook(stats: Stats): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.created = new Date(stats.generatedAt);
  const sheet = (name: string, first: string[], rows: (string | number | null)[][]) => {
    const ws = wb.addWorksheet(name);
    ws.addRow([...first, ...HEADERS]).font = { bold: true };
    for (const r of rows) ws.addRow(r);
    ws.columns.forEach((c, i) => (c.width = i < first.length ? 24 : 16));
    ws.views = [{ state: 'frozen', ySplit: 1 }];
  };
  const cells = (m: Measures) => [m.open, m.overdue, m.medianHours, m.p90Hours, m.decided];
  sheet(
    '按环节',
    ['环节'],
    stats.byStage.map((s) => [STAGE_LABELS[s.stage], ...cells(s)]),
  );
  sheet(
    '按单位',
    ['单位代码', '单位'],
    stats.byOrg.map((o) => [o.org.code, o.org.name, ...cells(o)]),
  );
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/**
 * Open and overdue cases per stage, for the /metrics gauges (api/metrics.ts calls only this). Today it reads the same
 * facts as the statistics page; it is the one place to switch to a kept roll-up, so a scrape stays cheap.
 */
export async function openCaseGauges(prisma: PrismaClient): Promise<{ stage: Stage; open: number; overdue: number }[]> {
  const stats = await loadStats(prisma);
  return stats.byStage.map((s) => ({ stage: s.stage, open: s.open, overdue: s.overdue }));
}
