import { z, RoleSchema } from './common';

export const LoginBodySchema = z
  .object({
    username: z.string({ error: '请填写用户名' }).trim().min(1, '请填写用户名').max(64),
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
  })
  .meta({ id: 'SessionUser' });

export const LoginResponseSchema = z
  .object({ token: z.string(), user: SessionUserSchema })
  .meta({ id: 'LoginResponse' });
