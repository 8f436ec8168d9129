import type { PrismaClient } from '../../infra/db';
import { addExportRow, loadExcelJS } from '../spreadsheet';
import { STAGE_LABELS } from '../../domain/labels';
import { mergeHistograms, quantileMinutes, type Histogram } from '../../domain/histogram';
import type { Stage } from '../../domain/types';

interface Measures {
  open: number;
  overdue: number;
  medianHours: number | null;
  p90Hours: number | null;
  medianMinutes: number | null;
  p90Minutes: number | null;
  decided: number;
}
export type StageStats = { stage: Stage } & Measures;
export type OrgStats = { org: { code: string; name: string } } & Measures;
export interface Stats {
  generatedAt: string;
  byStage: StageStats[];
  byOrg: OrgStats[];
}

interface RollupRow {
  stage: Stage;
  orgCode: string;
  orgName: string | null;
  open: number;
  overdue: number;
  decided: number;
  histogram: Histogram;
}

interface Acc {
  open: number;
  overdue: number;
  decided: number;
  histogram: Histogram;
}

/** Hours to three decimals (a minute reads 0.017 h, never 0). */
const hours = (minutes: number | null) => (minutes === null ? null : Math.round((minutes / 60) * 1000) / 1000);
const minutes = (m: number | null) => (m === null ? null : Math.round(m));

function measures(a: Acc): Measures {
  const median = quantileMinutes(a.histogram, 0.5);
  const p90 = quantileMinutes(a.histogram, 0.9);
  return {
    open: a.open,
    overdue: a.overdue,
    medianHours: hours(median),
    p90Hours: hours(p90),
    medianMinutes: minutes(median),
    p90Minutes: minutes(p90),
    decided: a.decided,
  };
}

/**
 * Workload and time in stage, per stage and per holder organisation, from the roll-up the activities keep
 * (StageRollup: one row per stage and organisation), never from the cases themselves: the same cost at a million
 * cases as at a hundred. Medians and p90 come from minute histograms: exact to the minute below an hour, within
 * 3.2 % above (domain/histogram.ts). `orgCodes` limits it to some organisations (a county bureau's own figures).
 */
export async function loadStats(
  prisma: PrismaClient,
  now = new Date(),
  /** Only these holder organisations (a county bureau and its schools); all when absent. */
  scope?: { orgCodes: string[] },
): Promise<Stats> {
  const orgCodes = scope?.orgCodes;
  const rows = orgCodes
    ? await prisma.$queryRaw<RollupRow[]>`
        select r.stage::text as stage, r."orgCode", o.name as "orgName", r.open, r.overdue, r.decided, r.histogram
          from "StageRollup" r left join "Organisation" o on o.code = r."orgCode"
         where r."orgCode" = any(${orgCodes}) and (r.open <> 0 or r.overdue <> 0 or r.decided <> 0)`
    : await prisma.$queryRaw<RollupRow[]>`
        select r.stage::text as stage, r."orgCode", o.name as "orgName", r.open, r.overdue, r.decided, r.histogram
          from "StageRollup" r left join "Organisation" o on o.code = r."orgCode"
         where r.open <> 0 or r.overdue <> 0 or r.decided <> 0`;
  const byStage = new Map<Stage, Acc>();
  const byOrg = new Map<string, Acc & { name: string }>();
  const add = (a: Acc, r: RollupRow) => {
    a.open += r.open;
    a.overdue += r.overdue;
    a.decided += r.decided;
    mergeHistograms(a.histogram, r.histogram);
  };
  for (const r of rows) {
    if (!byStage.has(r.stage)) byStage.set(r.stage, { open: 0, overdue: 0, decided: 0, histogram: {} });
    add(byStage.get(r.stage)!, r);
    if (!byOrg.has(r.orgCode)) {
      byOrg.set(r.orgCode, { open: 0, overdue: 0, decided: 0, histogram: {}, name: r.orgName ?? r.orgCode });
    }
    add(byOrg.get(r.orgCode)!, r);
  }
  const stageOrder = Object.keys(STAGE_LABELS) as Stage[];
  return {
    generatedAt: now.toISOString(),
    byStage: [...byStage.entries()]
      .sort(([a], [b]) => stageOrder.indexOf(a) - stageOrder.indexOf(b))
      .map(([stage, a]) => ({ stage, ...measures(a) })),
    byOrg: [...byOrg.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, a]) => ({ org: { code, name: a.name }, ...measures(a) })),
  };
}

/** Open and overdue stages per stage, for gauges (/metrics): one small aggregate over the roll-up. */
export async function openCaseGauges(prisma: PrismaClient): Promise<{ stage: Stage; open: number; overdue: number }[]> {
  return prisma.$queryRaw`
    select stage::text as stage, sum(open)::int as open, sum(overdue)::int as overdue
      from "StageRollup" group by stage order by stage`;
}

const HEADERS = ['在办', '超期', '中位用时(分钟)', 'P90用时(分钟)', '中位用时(小时)', 'P90用时(小时)', '已办结'];

/** The same figures as a workbook: one sheet per breakdown, headers and stage names in Chinese. */
export async function statsWorkbook(stats: Stats): Promise<Buffer> {
  const wb = new (await loadExcelJS()).Workbook();
  wb.created = new Date(stats.generatedAt);
  const sheet = (name: string, first: string[], rows: (string | number | null)[][]) => {
    const ws = wb.addWorksheet(name);
    addExportRow(ws, [...first, ...HEADERS]).font = { bold: true };
    for (const r of rows) addExportRow(ws, r);
    ws.columns.forEach((c, i) => (c.width = i < first.length ? 24 : 16));
    // Hours with two decimals: a stage decided in a minute reads 0.02, not 0 (its minutes are beside it).
    for (const col of [first.length + 5, first.length + 6]) ws.getColumn(col).numFmt = '0.00';
    ws.views = [{ state: 'frozen', ySplit: 1 }];
  };
  const cells = (m: Measures) => [
    m.open,
    m.overdue,
    m.medianMinutes,
    m.p90Minutes,
    m.medianHours,
    m.p90Hours,
    m.decided,
  ];
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
