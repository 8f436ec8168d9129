import { z, RoleSchema, freeText, newPassword, orgCode, serialId } from './common';

export const UserSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    displayName: z.string(),
    role: RoleSchema,
    orgCode: z.string().nullable(),
    orgName: z.string().nullable(),
    email: z.string().nullable(),
    active: z.boolean(),
    mustChangePassword: z.boolean(),
    lockedUntil: z.string().nullable().meta({ description: '因连续登录失败被锁定至此时（ISO 8601），未锁定为 null' }),
    passwordChangedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'User', description: '用户（不含密码哈希）' });

export const UserListSchema = z.object({ items: z.array(UserSchema) }).meta({ id: 'UserList' });

export const UserIdParamsSchema = z.object({
  id: serialId('用户编号'),
});

const PasswordSchema = newPassword('密码');

export const CreateUserBodySchema = z
  .object({
    username: freeText('用户名', { min: 1, max: 64 }).pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$/, '用户名为 2–64 个字母、数字、点、下划线或连字符，以字母或数字开头'),
    ),
    displayName: freeText('姓名或称呼', { min: 1, max: 50 }),
    role: RoleSchema,
    orgCode: orgCode('单位代码').optional().meta({
      description:
        '学校学籍管理员填学校代码；教育局人员填所属教育局的代码（区县 6 位、地市 4 位、省 2 位）；系统管理员不填',
    }),
    email: freeText('邮箱', { min: 1, max: 200 }).pipe(z.email('邮箱格式不正确')).optional(),
    password: PasswordSchema.meta({ description: '初始密码，至少 10 个字符，不能与用户名相同' }),
  })
  .superRefine((v, ctx) => {
    if (v.role === 'ADMIN' && v.orgCode) {
      ctx.addIssue({ code: 'custom', path: ['orgCode'], message: '系统管理员不属于任何单位，请不要填写单位代码' });
    }
    if (v.role !== 'ADMIN' && !v.orgCode) {
      const kind = v.role === 'SCHOOL_CLERK' ? '学校代码' : '区县、地市或省教育局（厅）的代码';
      ctx.addIssue({ code: 'custom', path: ['orgCode'], message: `请填写所属单位（${kind}）` });
    }
  })
  .meta({ id: 'CreateUserBody' });

export type CreateUserBody = z.infer<typeof CreateUserBodySchema>;

export const ResetPasswordBodySchema = z
  .object({ password: PasswordSchema.meta({ description: '临时密码；用户下次登录后须先修改' }) })
  .meta({ id: 'ResetPasswordBody' });
