import { z } from './common';
import { ApplicationSchema } from './applications';

export const GuardianAccessSchema = z
  .object({
    ref: z.string().meta({ description: '案件查询编号（8 位，分组显示），印在回执上', example: '7KQ2-M9XD' }),
    code: z
      .string()
      .meta({ description: '查询码（10 位，分组显示）：只在此处出现一次，系统只保存其散列', example: 'K7QM-2XD9-PA' }),
    url: z.string().meta({ description: '查询页地址，查询码在 # 之后（浏览器不会把它发给服务器）' }),
    queryPage: z.string().meta({ description: '手工输入编号和查询码的查询页' }),
  })
  .meta({ id: 'GuardianAccess', description: '家长自助查询办理进度（无需登录）所需的编号和查询码' });

export const CreatedApplicationSchema = ApplicationSchema.extend({ guardianAccess: GuardianAccessSchema }).meta({
  id: 'CreatedApplication',
  description: '新提交的业务，附家长查询编号和查询码（只此一次）',
});

/** The public query's body. Never validated with errors naming fields: every wrong input gets the same answer. */
export const CaseStatusBodySchema = z
  .object({
    ref: z.string().meta({ description: '查询编号（8 位，可带连字符，不区分大小写）', example: '7KQ2-M9XD' }),
    code: z.string().meta({ description: '查询码（10 位，可带连字符，不区分大小写）', example: 'K7QM-2XD9-PA' }),
  })
  .meta({ id: 'CaseStatusBody' });

const PublicStepSchema = z.object({
  stage: z.string().meta({ description: '环节，如 转入县教育局审核' }),
  org: z.string().meta({ description: '办理单位' }),
  openedOn: z.string().nullable(),
  decidedOn: z.string().nullable(),
  result: z.string().nullable().meta({ description: '同意、不同意或退回；未办为 null' }),
});

export const CaseStatusResultSchema = z
  .object({
    ref: z.string(),
    type: z.string().meta({ description: '业务类型，如 转学' }),
    status: z.enum(['IN_REVIEW', 'RETURNED', 'APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED']),
    statusText: z.string().meta({ description: '给家长看的办理状态说明' }),
    filedOn: z.string(),
    stage: z.string().nullable().meta({ description: '当前环节（在办时）' }),
    holder: z.string().nullable().meta({ description: '当前办理单位（在办时）' }),
    since: z.string().nullable().meta({ description: '当前单位自哪天起办理' }),
    dueDate: z.string().nullable().meta({ description: '当前环节的办理期限（该日 24 时前）' }),
    overdue: z.boolean(),
    prediction: z
      .object({ p50: z.string(), p80: z.string() })
      .nullable()
      .meta({ description: '预计办结日期：p50 一半把握，p80 八成把握；退回和已办结时为 null' }),
    steps: z.array(PublicStepSchema).meta({ description: '本轮各环节（不含审核意见）' }),
    reversal: z
      .object({
        status: z.enum(['IN_REVIEW', 'RETURNED', 'APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED']),
        statusText: z.string().meta({ description: '如“已纠错：本次学籍变更已撤销，学籍已恢复为变更前的状态”' }),
        ref: z.string().nullable().meta({ description: '纠错业务的查询编号（分组显示）' }),
        filedOn: z.string().meta({ description: '纠错申请提交日期' }),
        closedOn: z.string().nullable().meta({ description: '纠错业务办结日期（APPROVED 时即撤销生效的日期）' }),
      })
      .nullable()
      .meta({ description: '本次学籍变更的纠错（撤销），最近一次；没有时为 null' }),
    reverses: z
      .object({
        ref: z.string().nullable().meta({ description: '被纠错（撤销）的原业务的查询编号' }),
        approvedOn: z.string().nullable().meta({ description: '原业务审核通过的日期' }),
      })
      .nullable()
      .meta({ description: '本业务为纠错时：被撤销的原业务；普通业务为 null' }),
    closedOn: z.string().nullable(),
    visibleUntil: z
      .string()
      .nullable()
      .meta({ description: '办结后可查询到哪一天（已纠错的业务：纠错办结后 90 天；纠错办理中为 null）' }),
  })
  .meta({
    id: 'CaseStatusResult',
    description: '案件办理进度：不含姓名、证件号码和审核意见',
  });
