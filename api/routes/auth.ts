import { Router } from 'express';
import type { AppDeps } from '../app';
import { verifyPassword } from '../auth';
import { unauthenticated } from '../errors';
import { parse } from '../schemas/common';
import { LoginBodySchema } from '../schemas/auth';

// A real hash to verify against when the user does not exist, so timing does not reveal usernames.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZqSIbvRJ3Nx8u6JkGkqTw3nKDC1yPhNwF8rSO3nuc3I';

export function authRoutes({ prisma, tokens }: AppDeps): Router {
  const r = Router();
  /** 200 {token, user}; 400 missing fields; 401 bad credentials or disabled account. */
  r.post('/login', async (req, res) => {
    const body = parse(LoginBodySchema, req.body);
    const user = await prisma.user.findUnique({ where: { username: body.username }, include: { org: true } });
    const ok = await verifyPassword(user?.passwordHash ?? DUMMY_HASH, body.password).catch(() => false);
    if (!user || !ok || !user.active) throw unauthenticated('用户名或密码不正确');
    res.json({
      token: await tokens.sign(user.id, user.username),
      user: {
        username: user.username,
        displayName: user.displayName,
        role: user.role,
        orgCode: user.orgCode,
        orgName: user.org?.name ?? null,
      },
    });
  });
  return r;
}
