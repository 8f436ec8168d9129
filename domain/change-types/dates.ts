import type { DetailsContext, DetailsIssue } from './spec';

export function addMonths(isoDate: string, months: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

/** An expected return (休学, 出境) lies after the effective date. */
export function returnAfterEffective(d: Record<string, string | undefined>, ctx: DetailsContext): DetailsIssue[] {
  return ctx.effectiveDate && d.expectedReturnDate && d.expectedReturnDate <= ctx.effectiveDate
    ? [{ field: 'expectedReturnDate', message: '预计返回日期应晚于异动日期' }]
    : [];
}
