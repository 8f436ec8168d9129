import type { ChainStep, ChangeTypeSpec, Parties } from './spec';

/**
 * 转学. Filed by the receiving school for a pupil of any other school. The chain as the national system runs it:
 * receiving school → receiving county → sending school → sending county; within one county the bureau acts once (as
 * RECEIVING_COUNTY), so SENDING_COUNTY is skipped and the chain has three stages.
 */
export const transfer = {
  code: 'TRANSFER',
  label: '转学',
  wording: {
    fromSchool: '转出学校',
    schoolPicker: '转出学校（学生现在就读的学校）',
    filingHint: '转学由转入学校（本校）申请；学生在转出学校的学籍须已建立。',
    proofHint: '如转学证明、户口或居住证明。',
  },
  applicant: 'receivingSchool',
  chain({ pupilSchool: from, receivingSchool: to, levels }: Parties): ChainStep[] {
    if (!to) throw new Error('a transfer needs a receiving school');
    const receiving = levels?.receiving ?? [];
    const chain: ChainStep[] = [
      { stage: 'RECEIVING_SCHOOL', orgCode: to.code },
      { stage: 'RECEIVING_COUNTY', orgCode: to.countyCode },
      // Levels a province adds (none by default): the receiving side's after its county, the sending side's last.
      ...receiving.map((l) => ({ stage: `RECEIVING_${l.level}` as const, orgCode: l.orgCode })),
      { stage: 'SENDING_SCHOOL', orgCode: from.code },
    ];
    if (from.countyCode !== to.countyCode) chain.push({ stage: 'SENDING_COUNTY', orgCode: from.countyCode });
    // Like the county within one county, a bureau that already acted for the receiving side acts once.
    for (const l of levels?.sending ?? []) {
      if (!receiving.some((r) => r.orgCode === l.orgCode))
        chain.push({ stage: `SENDING_${l.level}`, orgCode: l.orgCode });
    }
    return chain;
  },
  from: ['ENROLLED'],
  provinceRule: (pupil, _request, rules) =>
    rules.noTransferGrades.includes(pupil.grade) ? `按本省规定，${pupil.grade} 年级（毕业年级）学生不能办理转学` : null,
  fields: [],
  apply(record, app) {
    if (!app.toSchoolCode) throw new Error('a transfer has no receiving school');
    return { ...record, schoolCode: app.toSchoolCode };
  },
  changes: ['schoolCode'],
} as const satisfies ChangeTypeSpec<'TRANSFER'>;
