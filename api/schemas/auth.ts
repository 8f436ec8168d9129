import { z, OrgKindSchema, RoleSchema, freeText, newPassword, orNull } from './common';

export const LoginBodySchema = z
  .object({
    username: freeText('用户名', { min: 1, max: 64 }),
    password: z.string({ error: '请填写密码' }).min(1, '请填写密码').max(256),
  })
  .meta({ id: 'LoginBody' });

export const SessionUserSchema = z
  .object({
    username: z.string(),
    displayName: z.string(),
    role: RoleSchema,
    orgCode: z.string().nullable(),
    orgName: z.string().nullable(),
    orgKind: orNull(OrgKindSchema).meta({
      description: '所属单位的类型（系统管理员为 null）：网页端按它称“本县”“本市”“本省”',
    }),
    mustChangePassword: z.boolean().meta({ description: '管理员重置过密码：修改密码前，其他接口均返回 403' }),
  })
  .meta({ id: 'SessionUser' });

export const LoginResponseSchema = z
  .object({
    token: z.string().meta({ description: '访问令牌（JWT），放在 Authorization: Bearer 中' }),
    refreshToken: z
      .string()
      .meta({ description: '刷新令牌：换取新的访问令牌，每次使用后即更换；旧令牌再次使用会使该登录失效' }),
    expiresIn: z.number().int().meta({ description: '访问令牌的有效秒数' }),
    user: SessionUserSchema,
  })
  .meta({ id: 'LoginResponse' });

const RefreshTokenSchema = z.string({ error: '请提供刷新令牌' }).min(1, '请提供刷新令牌').max(200);

export const RefreshBodySchema = z.object({ refreshToken: RefreshTokenSchema }).meta({ id: 'RefreshBody' });

export const LogoutBodySchema = z
  .object({ refreshToken: RefreshTokenSchema.optional() })
  .meta({ id: 'LogoutBody', description: '带访问令牌时可为空；访问令牌已过期时凭刷新令牌退出' });

export const ChangePasswordBodySchema = z
  .object({
    currentPassword: z.string({ error: '请填写当前密码' }).min(1, '请填写当前密码').max(256),
    newPassword: newPassword('新密码'),
  })
  .meta({ id: 'ChangePasswordBody' });
