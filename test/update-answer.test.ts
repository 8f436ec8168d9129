import { actorOf, type AuthUser } from '../api/auth';
import { loadVisibleApplication, OrgDirectory } from '../api/services/applications';
import { caseAfterUpdate, sendUpdate } from '../api/services/updates';
import { maskStudentNoToRegion } from '../domain/id-number';
import type { PrismaClient } from '../infra/db';
import { decideUpdate, withdrawUpdate } from '../workflows/messages';
import { aPupilWithoutCases, decideAs, fileTransfer, LI, startStack, ZHANG, type TestStack } from './support/stack';

// An Update the workflow accepted is answered even when the case cannot be read again afterwards (the database went
// away in between): from the case as read before, with the Update's outcome. The chaos suite once saw a resubmission
// answered "IN_REVIEW, round 1" that way — the round had not moved with the status. An outcome that closes the case
// once answered 503 instead: the caller is then no party to an open case, and its reach was a query.

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

/** A client for which every query fails, as it does once Postgres is gone. */
function databaseGone(): PrismaClient {
  const unreachable = () =>
    Promise.reject(Object.assign(new Error("Can't reach database server"), { code: 'ECONNREFUSED' }));
  // prisma.anything.anything(…) and prisma.$anything(…) reject; nothing is a thenable.
  const delegate = new Proxy(unreachable, { get: (_t, key) => (key === 'then' ? undefined : unreachable) });
  return new Proxy({} as PrismaClient, { get: (_t, key) => (key === 'then' ? undefined : delegate) });
}

/** Sends an Update as the route does, with the database still there (the change takes effect). */
const send = <A, R>(
  app: Parameters<typeof sendUpdate>[1],
  update: Parameters<typeof sendUpdate<A, R>>[2],
  arg: A,
  updateId: string,
) =>
  sendUpdate<A, R>(
    {
      prisma: stack.prisma,
      temporal: stack.temporal,
      config: { TEMPORAL_TASK_QUEUE: stack.taskQueue, UPDATE_TIMEOUT_MS: 30_000 } as never,
    },
    app,
    update,
    arg,
    updateId,
  );

test('a resubmission answered from its outcome shows the new round in review', async () => {
  const id = (await fileTransfer(stack, 'nj.s1', LI)).body.id as number;
  expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
  expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY', 'RETURN', '请补充转学证明')).status).toBe(200);
  const clerk = await authUser(stack.prisma, 'nj.s1');
  const before = await loadVisibleApplication(stack.prisma, clerk, id);
  expect([before.status, before.round]).toEqual(['RETURNED', 1]);
  const logger = { warn: jest.fn() };
  const answer = await caseAfterUpdate(
    { prisma: databaseGone(), orgs: new OrgDirectory(stack.prisma), logger: logger as never },
    clerk,
    before,
    { status: 'IN_REVIEW', currentStage: 'RECEIVING_SCHOOL', currentOrgCode: '5119220001' },
  );
  expect(logger.warn).toHaveBeenCalledTimes(1); // the re-read did fail: this is the answer from the outcome
  expect(answer).toMatchObject({ id, status: 'IN_REVIEW', round: 2, currentStage: 'RECEIVING_SCHOOL' });
});

describe('an Update that closes the case is answered with its outcome though Postgres has gone since (no query at all)', () => {
  test('the last stage approves: the answer is the APPROVED case, the pupil at the receiving school', async () => {
    const { studentNo } = await aPupilWithoutCases(stack.prisma);
    const id = (await fileTransfer(stack, 'nj.s1', studentNo)).body.id as number;
    expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(200);
    expect((await decideAs(stack, 'hhg.s1', id, 'SENDING_SCHOOL')).status).toBe(200);
    const officer = await authUser(stack.prisma, 'hhg.edu');
    const before = await loadVisibleApplication(stack.prisma, officer, id);
    expect(before.currentStage).toBe('SENDING_COUNTY');
    const decided = { stage: 'SENDING_COUNTY' as const, decision: 'APPROVE' as const, comment: null };
    const outcome = await send(
      before,
      decideUpdate,
      { ...decided, round: before.round, actor: actorOf(officer) },
      `decide:${id}:${before.round}:SENDING_COUNTY:APPROVE`,
    );
    expect(outcome.status).toBe('APPROVED');
    const gone = databaseGone();
    const logger = { warn: jest.fn() };
    const answer = await caseAfterUpdate(
      { prisma: gone, orgs: new OrgDirectory(gone), logger: logger as never },
      officer,
      before,
      outcome,
      decided,
    );
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(answer).toMatchObject({ id, status: 'APPROVED', currentStage: null, student: { schoolCode: '5119220001' } });
    expect(answer.steps.find((s) => s.stage === 'SENDING_COUNTY')).toMatchObject({ decision: 'APPROVE' });
    // The sending county reaches the pupil for a while after the transfer, but knowing that takes the organisation
    // tree: without Postgres the answer shows less than the case page would, never more.
    expect(answer.student.studentNo).toBe(maskStudentNoToRegion(studentNo));
  });

  test('the applicant withdraws: the answer is the WITHDRAWN case, the pupil (at another school) masked as with the database', async () => {
    const id = (await fileTransfer(stack, 'nj.s1', ZHANG)).body.id as number;
    const clerk = await authUser(stack.prisma, 'nj.s1');
    const before = await loadVisibleApplication(stack.prisma, clerk, id);
    const outcome = await send(
      before,
      withdrawUpdate,
      { reason: '家长改变主意', actor: actorOf(clerk) },
      `withdraw:${id}`,
    );
    expect(outcome.status).toBe('WITHDRAWN');
    const gone = databaseGone();
    const logger = { warn: jest.fn() };
    const answer = await caseAfterUpdate(
      { prisma: gone, orgs: new OrgDirectory(gone), logger: logger as never },
      clerk,
      before,
      outcome,
    );
    expect(logger.warn).toHaveBeenCalled();
    expect(answer).toMatchObject({ id, status: 'WITHDRAWN', currentStage: null, currentOrg: null });
    const withDatabase = await caseAfterUpdate(
      { prisma: stack.prisma, orgs: new OrgDirectory(stack.prisma), logger: logger as never },
      clerk,
      before,
      outcome,
    );
    expect(withDatabase.student.studentNo).toBe(maskStudentNoToRegion(ZHANG));
    expect(answer.student).toEqual(withDatabase.student);
  });
});
