// Accounts, for administrators: the list, creating one, disabling, re-enabling, resetting a password and lifting a
// lock. Each change is written with its audit event in one transaction. The routes (api/routes/users.ts) parse,
// authorise and answer.

import { appendAudit, type AuditActor } from '../../infra/audit';
import { isUniqueViolation, type PrismaClient } from '../../infra/db';
import { hashPassword } from '../../infra/passwords';
import type { Role } from '../../domain/types';
import { conflict, notFound, ruleViolation } from '../errors';
import { revokeUserSessions } from '../sessions';

/** The organisations a role may belong to: a clerk a school; an officer an education bureau — 区县, 地市 or 省. */
const ORG_KINDS_FOR_ROLE: Record<Exclude<Role, 'ADMIN'>, readonly string[]> = {
  SCHOOL_CLERK: ['SCHOOL'],
  COUNTY_OFFICER: ['COUNTY', 'CITY', 'PROVINCE'],
};

/** Every account with its organisation, by id. */
export function listUsers(prisma: PrismaClient) {
  return prisma.user.findMany({ include: { org: true }, orderBy: { id: 'asc' } });
}

/** One account with its organisation; 404 when there is none. */
export async function loadUser(prisma: PrismaClient, id: number) {
  const user = await prisma.user.findUnique({ where: { id }, include: { org: true } });
  if (!user) throw notFound(`没有编号为 ${id} 的用户`);
  return user;
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  orgCode?: string;
  email?: string;
  password: string;
}

/**
 * Creates an account whose password the user replaces at the first login: 422 when the organisation does not exist
 * or does not fit the role (a clerk a school; an officer a 区县, 地市 or 省 bureau), 409 when the username is taken.
 */
export async function createUser(prisma: PrismaClient, actor: AuditActor, body: NewUser) {
  if (body.role !== 'ADMIN') {
    const org = await prisma.organisation.findUnique({ where: { code: body.orgCode! } });
    if (!org) throw ruleViolation(`没有代码为 ${body.orgCode} 的单位`, [{ path: 'orgCode', message: '单位不存在' }]);
    if (!ORG_KINDS_FOR_ROLE[body.role].includes(org.kind)) {
      const message =
        body.role === 'SCHOOL_CLERK'
          ? `${org.name}是教育局，学校学籍管理员须属于学校`
          : `${org.name}是学校，教育局人员须属于区县、地市或省教育局（厅）`;
      throw ruleViolation(message, [{ path: 'orgCode', message }]);
    }
  }
  const passwordHash = await hashPassword(body.password);
  try {
    return await prisma.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: {
          username: body.username,
          displayName: body.displayName,
          role: body.role,
          orgCode: body.orgCode ?? null,
          email: body.email ?? null,
          passwordHash,
          // The administrator chose this password: the user replaces it at the first login.
          mustChangePassword: true,
        },
        include: { org: true },
      });
      await appendAudit(tx, {
        actor,
        action: 'user.create',
        entityType: 'User',
        entityId: user.id,
        details: { username: user.username, role: user.role, orgCode: user.orgCode },
      });
      return user;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`用户名 ${body.username} 已被使用`);
    throw e;
  }
}

/**
 * Disables an account (its logins end), re-enables one (a lock from failed logins is lifted too), or resets its
 * password to `passwordHash` (its logins end), with the audit event in the same transaction.
 */
export function changeUser(
  prisma: PrismaClient,
  actor: AuditActor,
  id: number,
  action: 'disable' | 'enable' | 'reset_password',
  passwordHash: string | null,
) {
  return prisma.$transaction(async (tx) => {
    const data =
      action === 'disable'
        ? { active: false }
        : action === 'enable'
          ? { active: true, failedLogins: 0, lockedUntil: null }
          : { passwordHash: passwordHash!, mustChangePassword: true, failedLogins: 0, lockedUntil: null };
    const u = await tx.user.update({ where: { id }, data, include: { org: true } });
    const sessionsEnded = action === 'enable' ? 0 : await revokeUserSessions(tx, id);
    await appendAudit(tx, {
      actor,
      action: `user.${action}`,
      entityType: 'User',
      entityId: id,
      details: { username: u.username, ...(action === 'enable' ? {} : { sessionsEnded }) },
    });
    return u;
  });
}

/** Lifts a lock from failed logins and clears the count, audited with the lock it lifted; 409 when not locked. */
export async function unlockUser(prisma: PrismaClient, actor: AuditActor, id: number) {
  const user = await loadUser(prisma, id);
  const lockedUntil = user.lockedUntil && user.lockedUntil.getTime() > Date.now() ? user.lockedUntil : null;
  if (!lockedUntil && user.failedLogins === 0) throw conflict(`${user.username} 没有被锁定`);
  return prisma.$transaction(async (tx) => {
    const u = await tx.user.update({
      where: { id },
      data: { failedLogins: 0, lockedUntil: null },
      include: { org: true },
    });
    await appendAudit(tx, {
      actor,
      action: 'user.unlock',
      entityType: 'User',
      entityId: id,
      details: {
        username: u.username,
        lockedUntil: lockedUntil?.toISOString() ?? null,
        failedLogins: user.failedLogins,
      },
    });
    return u;
  });
}
