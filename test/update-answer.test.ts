import type { AuthUser } from '../api/auth';
import { loadVisibleApplication, OrgDirectory } from '../api/services/applications';
import { caseAfterUpdate } from '../api/services/updates';
import type { PrismaClient } from '../infra/db';
import { decideAs, fileTransfer, LI, startStack, type TestStack } from './support/stack';

// An Update the workflow accepted is answered even when the case cannot be read again afterwards (the database went
// away in between): from the case as read before, with the Update's outcome. The chaos suite once saw a resubmission
// answered "IN_REVIEW, round 1" that way — the round had not moved with the status.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function authUser(prisma: PrismaClient, username: string): Promise<AuthUser> {
  const u = await prisma.user.findUniqueOrThrow({ where: { username }, include: { org: true } });
  return {
    userId: u.id,
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    orgCode: u.orgCode,
    orgName: u.org?.name ?? null,
    countyCode: u.org ? (u.org.kind === 'COUNTY' ? u.org.code : u.org.parentCode) : null,
  };
}

/** The real client, except that reading a case fails as it does while Postgres is unreachable. */
function rereadFails(prisma: PrismaClient): PrismaClient {
  const unreachable = () =>
    Promise.reject(Object.assign(new Error("Can't reach database server"), { code: 'ECONNREFUSED' }));
  const application = new Proxy(prisma.application, {
    get: (target, key, receiver) => (key === 'findFirst' ? unreachable : Reflect.get(target, key, receiver)),
  });
  return new Proxy(prisma, {
    get: (target, key, receiver) => (key === 'application' ? application : Reflect.get(target, key, receiver)),
  });
}

test('a resubmission answered from its outcome shows the new round in review', async () => {
  const id = (await fileTransfer(stack, 'nj.s1', LI)).body.id as number;
  expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
  expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY', 'RETURN', '请补充转学证明')).status).toBe(200);
  const clerk = await authUser(stack.prisma, 'nj.s1');
  const before = await loadVisibleApplication(stack.prisma, clerk, id);
  expect([before.status, before.round]).toEqual(['RETURNED', 1]);
  const logger = { warn: jest.fn() };
  const answer = await caseAfterUpdate(
    { prisma: rereadFails(stack.prisma), orgs: new OrgDirectory(stack.prisma), logger: logger as never },
    clerk,
    before,
    { status: 'IN_REVIEW', currentStage: 'RECEIVING_SCHOOL', currentOrgCode: '5119220001' },
  );
  expect(logger.warn).toHaveBeenCalledTimes(1); // the re-read did fail: this is the answer from the outcome
  expect(answer).toMatchObject({ id, status: 'IN_REVIEW', round: 2, currentStage: 'RECEIVING_SCHOOL' });
});
