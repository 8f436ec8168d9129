import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import request from 'supertest';
import type { RecordDecisionInput } from '../activities';
import type { AuthUser } from '../api/auth';
import { createApplication } from '../api/services/applications';
import { idCheckChar } from '../domain/id-number';
import type { Actor } from '../domain/types';
import { GENESIS_HASH, verifyAuditChain } from '../infra/audit';
import type { PrismaClient } from '../infra/db';
import { decideUpdate } from '../workflows/messages';
import {
  as,
  createTestDatabase,
  decideAs,
  fileTransfer,
  LI,
  SOON,
  ZHANG,
  type TestDatabase,
  type TestStack,
  startStack,
  testActivities,
} from './support/stack';

// The audit trail on the real stack: every case and pupil change is appended in the transaction that
// makes it, linked by hashes, and an edited or deleted row is found. The trail is shared by every test
// of this file (one database), so assertions pick a case's rows by applicationId.
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const TSX = path.resolve(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
const VERIFY = path.resolve(__dirname, '..', 'scripts', 'audit-verify.ts');

const trailOf = (prisma: PrismaClient, applicationId: number) =>
  prisma.auditEvent.findMany({ where: { applicationId }, orderBy: { seq: 'asc' } });

async function userOf(prisma: PrismaClient, username: string) {
  return prisma.user.findUniqueOrThrow({ where: { username }, include: { org: true } });
}

/** The AuthUser the API would build for a demo user, for calling services without HTTP. */
async function authUser(prisma: PrismaClient, username: string): Promise<AuthUser> {
  const u = await userOf(prisma, username);
  return {
    userId: u.id,
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    orgCode: u.orgCode,
    orgName: u.org?.name ?? null,
    countyCode: u.org ? (u.org.kind === 'COUNTY' ? u.org.code : u.org.parentCode) : null,
    // Session fields the services do not read.
    sessionId: 'audit-test',
    mustChangePassword: false,
  } as AuthUser;
}

const actorOf = (u: AuthUser): Actor => ({
  userId: u.userId,
  username: u.username,
  displayName: u.displayName,
  role: u.role,
  orgCode: u.orgCode,
});

let used = 0;
/** A generated pupil of 红花岗区第二小学 (hhg.s2), different on every call. */
async function otherPupil(prisma: PrismaClient, schoolCode = '5203020002'): Promise<string> {
  const rows = await prisma.student.findMany({
    where: { schoolCode, status: 'ENROLLED', studentNo: { notIn: [ZHANG, LI] } },
    orderBy: { studentNo: 'asc' },
  });
  return rows[used++ % rows.length].studentNo;
}

/** Every row in seq order links to the one before it, from the genesis hash. */
async function expectWholeChainLinked(prisma: PrismaClient) {
  const all = await prisma.auditEvent.findMany({ orderBy: { seq: 'asc' } });
  let prev = GENESIS_HASH;
  for (const row of all) {
    expect(row.prevHash).toBe(prev);
    prev = row.hash;
  }
  const verified = await verifyAuditChain(prisma);
  expect(verified).toEqual({ ok: true, count: all.length, headHash: prev });
}

describe('case and pupil changes are audited', () => {
  test('a full transfer writes create, four decisions, approved and the pupil’s change, in order and linked', async () => {
    const created = await fileTransfer(stack, 'nj.s1', ZHANG);
    expect(created.status).toBe(201);
    const id: number = created.body.id;
    const chain: [string, string][] = [
      ['nj.s1', 'RECEIVING_SCHOOL'],
      ['nj.edu', 'RECEIVING_COUNTY'],
      ['hhg.s1', 'SENDING_SCHOOL'],
      ['hhg.edu', 'SENDING_COUNTY'],
    ];
    for (const [user, stage] of chain) expect((await decideAs(stack, user, id, stage)).status).toBe(200);

    const rows = await trailOf(stack.prisma, id);
    expect(rows.map((r) => r.action)).toEqual([
      'application.create',
      'application.decide',
      'application.decide',
      'application.decide',
      'application.decide',
      'application.approved',
      'student.change',
    ]);
    const clerk = await userOf(stack.prisma, 'nj.s1');
    expect(rows[0]).toMatchObject({
      actorId: clerk.id,
      actorName: clerk.displayName,
      orgCode: '5119220001',
      entityType: 'application',
      entityId: String(id),
      details: expect.objectContaining({ type: 'TRANSFER', fromSchoolCode: '5203020001', toSchoolCode: '5119220001' }),
    });
    for (const [i, [user, stage]] of chain.entries()) {
      const u = await userOf(stack.prisma, user);
      expect(rows[i + 1]).toMatchObject({
        actorId: u.id,
        orgCode: u.orgCode,
        details: expect.objectContaining({ stage, decision: 'APPROVE', round: 1 }),
      });
    }
    const pupil = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    expect(rows[6]).toMatchObject({
      entityType: 'student',
      entityId: 'G520302********0014',
      details: {
        type: 'TRANSFER',
        fromSchoolCode: '5203020001',
        toSchoolCode: '5119220001',
        fromStatus: 'ENROLLED',
        toStatus: 'ENROLLED',
        fromGrade: pupil.grade,
        toGrade: pupil.grade,
      },
    });
    // The final decision's three rows share its transaction and its moment.
    expect(new Set(rows.slice(4).map((r) => r.at.getTime())).size).toBe(1);
    // No ID number anywhere in the case's trail.
    expect(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(
      '520302201505050014',
    );
    for (let i = 1; i < rows.length; i++) expect(rows[i].seq > rows[i - 1].seq).toBe(true);
    await expectWholeChainLinked(stack.prisma);
  });

  test('return, resubmit and withdraw; cancel by an administrator', async () => {
    const studentNo = await otherPupil(stack.prisma, '5119220002');
    const filed = await as(stack, 'nj.s2').post('/api/applications', {
      type: 'STUDY_ABROAD',
      studentNo,
      reason: '家长申请',
      effectiveDate: SOON,
      details: { destination: '新家坡' },
    });
    expect(filed.status).toBe(201);
    const id: number = filed.body.id;
    await decideAs(stack, 'nj.s2', id, 'SCHOOL');
    expect((await decideAs(stack, 'nj.edu', id, 'COUNTY', 'RETURN', '国家名称有误，请更正')).status).toBe(200);
    const fixed = await as(stack, 'nj.s2').post(`/api/applications/${id}/resubmit`, {
      details: { destination: '新加坡' },
    });
    expect(fixed.status).toBe(200);
    const withdrawn = await as(stack, 'nj.s2').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' });
    expect(withdrawn.status).toBe(200);
    const rows = await trailOf(stack.prisma, id);
    expect(rows.map((r) => r.action)).toEqual([
      'application.create',
      'application.decide',
      'application.decide',
      'application.return',
      'application.resubmit',
      'application.withdraw',
    ]);
    expect(rows[2].details).toMatchObject({ decision: 'RETURN', comment: '国家名称有误，请更正', status: 'RETURNED' });
    expect(rows[4].details).toEqual({ round: 2, corrections: { details: { destination: '新加坡' } } });
    expect(rows[5].details).toMatchObject({ reason: '家长改变主意', from: 'IN_REVIEW', stage: 'SCHOOL', round: 2 });

    const other = (await fileTransfer(stack, 'nj.s1', await otherPupil(stack.prisma))).body.id as number;
    expect((await as(stack, 'admin').post(`/api/applications/${other}/cancel`, { reason: '重复申请' })).status).toBe(
      200,
    );
    const cancelled = await trailOf(stack.prisma, other);
    expect(cancelled.map((r) => r.action)).toEqual(['application.create', 'application.cancel']);
    expect(cancelled[1]).toMatchObject({
      actorId: (await userOf(stack.prisma, 'admin')).id,
      details: expect.objectContaining({ reason: '重复申请' }),
    });
  });

  test('a rejection is audited as a decision and the rejection of the case', async () => {
    const id = (await fileTransfer(stack, 'nj.s1', await otherPupil(stack.prisma))).body.id as number;
    await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
    expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY', 'REJECT', '学位已满')).status).toBe(200);
    const rows = await trailOf(stack.prisma, id);
    expect(rows.map((r) => r.action)).toEqual([
      'application.create',
      'application.decide',
      'application.decide',
      'application.rejected',
    ]);
    expect(rows[3].details).toMatchObject({ stage: 'RECEIVING_COUNTY', comment: '学位已满' });
  });

  test('registering a pupil and uploading a proof document are audited, without the ID number', async () => {
    const first17 = '110105201903020' + '13';
    const idNumber = first17 + idCheckChar(first17);
    const registered = await as(stack, 'hhg.s1').post('/api/students', {
      name: '陈思远',
      gender: 'MALE',
      birthDate: '2019-03-02',
      idNumber,
      grade: 1,
      className: '1年级2班',
    });
    expect(registered.status).toBe(201);
    const masked = `G110105********${idNumber.slice(14)}`;
    const reg = await stack.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'student.register', entityId: masked },
    });
    expect(reg).toMatchObject({
      actorId: (await userOf(stack.prisma, 'hhg.s1')).id,
      orgCode: '5203020001',
      entityType: 'student',
      applicationId: null,
      details: { name: '陈思远', schoolCode: '5203020001', grade: 1, className: '1年级2班' },
    });
    expect(JSON.stringify(reg.details) + reg.entityId).not.toContain(idNumber);

    const id = (await fileTransfer(stack, 'nj.s1', await otherPupil(stack.prisma))).body.id as number;
    const upload = () =>
      stack
        .login('nj.s1')
        .then((t) =>
          request(stack.app)
            .post(`/api/applications/${id}/attachments`)
            .set('Authorization', `Bearer ${t}`)
            .attach('file', Buffer.from('%PDF-1.7\n转学证明'), '转学证明.pdf'),
        );
    const first = await upload();
    expect(first.status).toBe(201);
    expect((await upload()).status).toBe(200); // the same bytes again: no new row, no new event
    const rows = (await trailOf(stack.prisma, id)).filter((r) => r.action === 'attachment.upload');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      entityType: 'attachment',
      entityId: String(first.body.id),
      details: { fileName: '转学证明.pdf', contentType: 'application/pdf', size: first.body.size },
    });
    expect((rows[0].details as { sha256: string }).sha256.replace(/:/g, '')).toBe(first.body.sha256);
  });
});

describe('idempotency', () => {
  test('an activity run twice (and twice at once) writes one decision event', async () => {
    const clerk = await authUser(stack.prisma, 'nj.s1');
    const app = await createApplication(stack.prisma, clerk, {
      type: 'TRANSFER',
      studentNo: await otherPupil(stack.prisma),
      reason: '随父母工作调动',
      effectiveDate: SOON,
    });
    const acts = testActivities(stack.prisma);
    const input: RecordDecisionInput = {
      applicationId: app.id,
      round: 1,
      stage: app.steps[0].stage,
      decision: 'APPROVE',
      comment: null,
      actor: actorOf(clerk),
      next: { stage: app.steps[1].stage, orgCode: app.steps[1].orgCode },
      finalStatus: null,
    };
    await acts.recordDecision(input);
    await acts.recordDecision(input);
    await Promise.all([acts.recordDecision(input), acts.recordDecision(input)]);
    const rows = await trailOf(stack.prisma, app.id);
    expect(rows.map((r) => r.action)).toEqual(['application.create', 'application.decide']);
  });
});

describe('tampering is detected', () => {
  /** A database of its own (the tests below break its chain), with a case through two decisions. */
  async function trailInOwnDatabase(): Promise<{ db: TestDatabase; seqs: bigint[] }> {
    const db = await createTestDatabase();
    const clerk = await authUser(db.prisma, 'nj.s1');
    const app = await createApplication(db.prisma, clerk, {
      type: 'TRANSFER',
      studentNo: ZHANG,
      reason: '随父母工作调动',
      effectiveDate: SOON,
    });
    const acts = testActivities(db.prisma);
    const chain = app.steps.map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
    for (const [i, who] of ['nj.s1', 'nj.edu', 'hhg.s1'].entries()) {
      await acts.recordDecision({
        applicationId: app.id,
        round: 1,
        stage: chain[i].stage,
        decision: 'APPROVE',
        comment: i === 1 ? '同意接收' : null,
        actor: actorOf(await authUser(db.prisma, who)),
        next: chain[i + 1],
        finalStatus: null,
      });
    }
    const rows = await trailOf(db.prisma, app.id);
    expect(rows).toHaveLength(4);
    expect((await verifyAuditChain(db.prisma)).ok).toBe(true);
    return { db, seqs: rows.map((r) => r.seq) };
  }

  const runVerify = (url: string) =>
    spawnSync(process.execPath, [TSX, VERIFY], {
      env: { ...process.env, DATABASE_URL: url },
      encoding: 'utf8',
      timeout: 60_000,
    });

  test('editing a row’s details in SQL: verifyAuditChain names that row; undoing the edit makes it whole again', async () => {
    const { db, seqs } = await trailInOwnDatabase();
    try {
      const target = seqs[2];
      const [{ original }] = await db.prisma.$queryRaw<{ original: string }[]>`
        select details::text as original from "AuditEvent" where seq = ${target}`;
      await db.prisma.$executeRaw`
        update "AuditEvent" set details = jsonb_set(details, '{comment}', '"不同意"') where seq = ${target}`;
      const broken = await verifyAuditChain(db.prisma);
      expect(broken).toMatchObject({ ok: false, brokenAt: target.toString(), reason: expect.stringMatching(/改动/) });
      await db.prisma.$executeRaw`update "AuditEvent" set details = ${original}::jsonb where seq = ${target}`;
      expect((await verifyAuditChain(db.prisma)).ok).toBe(true);
    } finally {
      await db.drop();
    }
  });

  test('deleting a middle row: verifyAuditChain names the row after it', async () => {
    const { db, seqs } = await trailInOwnDatabase();
    try {
      await db.prisma.$executeRaw`delete from "AuditEvent" where seq = ${seqs[1]}`;
      expect(await verifyAuditChain(db.prisma)).toMatchObject({
        ok: false,
        brokenAt: seqs[2].toString(),
        reason: expect.stringMatching(/删除/),
      });
    } finally {
      await db.drop();
    }
  });

  test('`npm run audit:verify` prints OK and exits 0 on a whole chain, names the broken entry and exits 1', async () => {
    const { db, seqs } = await trailInOwnDatabase();
    try {
      const ok = runVerify(db.url);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      const head = await db.prisma.auditEvent.findFirstOrThrow({ orderBy: { seq: 'desc' } });
      const count = await db.prisma.auditEvent.count();
      expect(ok.stdout).toContain(`OK: ${count} entries, head ${head.hash}`);

      await db.prisma.$executeRaw`
        update "AuditEvent" set details = jsonb_set(details, '{decision}', '"REJECT"') where seq = ${seqs[3]}`;
      const bad = runVerify(db.url);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain(`序号 ${seqs[3]}`);
      expect(bad.stderr).toContain(`entry seq ${seqs[3]}`);
      expect(bad.stderr).toContain('application.decide');
      expect(bad.stderr).toMatch(/此记录被改动/);
      expect(bad.stderr).toMatch(/it was edited/);
    } finally {
      await db.drop();
    }
  });
});

describe('GET /api/admin/audit', () => {
  test('filters by case, actor (id or username), organisation, action and time; newest first, cursor paging', async () => {
    const id = (await fileTransfer(stack, 'nj.s1', await otherPupil(stack.prisma))).body.id as number;
    await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL');
    await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY');
    const admin = as(stack, 'admin');
    const get = (q: string) => admin.get(`/api/admin/audit?${q}`);

    const all = await get(`applicationId=${id}`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((e: { action: string }) => e.action)).toEqual([
      'application.decide',
      'application.decide',
      'application.create',
    ]);
    expect(all.body.nextCursor).toBeNull();
    const [last, , first] = all.body.items;
    expect(typeof last.seq).toBe('string');
    expect(BigInt(last.seq) > BigInt(first.seq)).toBe(true);
    const officer = await userOf(stack.prisma, 'nj.edu');
    expect(last).toMatchObject({
      actor: { id: officer.id, name: officer.displayName },
      orgCode: '511922',
      applicationId: id,
      entityType: 'application',
      entityId: String(id),
      details: expect.objectContaining({ stage: 'RECEIVING_COUNTY', decision: 'APPROVE' }),
    });
    expect(last.prevHash).toMatch(/^[0-9a-f]{64}$/);

    const actions = async (q: string) =>
      (await get(`applicationId=${id}&${q}`)).body.items.map((e: { action: string }) => e.action);
    expect(await actions('actor=nj.edu')).toEqual(['application.decide']);
    expect(await actions(`actor=${officer.id}`)).toEqual(['application.decide']);
    expect(await actions('actor=nobody')).toEqual([]);
    expect(await actions('org=5119220001')).toEqual(['application.decide', 'application.create']);
    expect(await actions('action=application.create')).toEqual(['application.create']);
    expect(await actions('action=application.*')).toHaveLength(3);
    expect(await actions('action=student.*')).toEqual([]);

    // Time: the range of the case's own rows, inclusive at both ends; a bare date is a whole day.
    const at = (e: { at: string }) => e.at;
    expect(await actions(`from=${at(first)}&to=${at(last)}`)).toHaveLength(3);
    expect(await actions(`from=${encodeURIComponent(new Date(Date.parse(at(last)) + 1).toISOString())}`)).toEqual([]);
    expect(await actions(`to=${encodeURIComponent(new Date(Date.parse(at(first)) - 1).toISOString())}`)).toEqual([]);
    expect(await actions(`from=${at(first).slice(0, 10)}&to=${at(last).slice(0, 10)}`)).toHaveLength(3);

    // Paging: newest first, two at a time, the cursor being the last seq of the page.
    const page1 = await get(`applicationId=${id}&limit=2`);
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.nextCursor).toBe(page1.body.items[1].seq);
    const page2 = await get(`applicationId=${id}&limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((e: { seq: string }) => e.seq)).toEqual([first.seq]);
    expect(page2.body.nextCursor).toBeNull();
  });

  test('400 names each bad parameter; 403 for anyone but an administrator', async () => {
    const admin = as(stack, 'admin');
    const bad = await admin.get('/api/admin/audit?applicationId=abc&from=yesterday&limit=0&cursor=-1&actr=x');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(
      ['actr', 'applicationId', 'cursor', 'from', 'limit'].sort(),
    );
    const backwards = await admin.get('/api/admin/audit?from=2026-02-01&to=2026-01-01');
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors).toEqual([{ path: 'to', message: '截止时间不能早于起始时间' }]);
    for (const q of ['from=2026-02-30', 'actor=a&actor=b', 'actor[]=x', 'cursor=99999999999999999999', 'to=%00']) {
      const res = await admin.get(`/api/admin/audit?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
    }
    expect((await admin.get('/api/admin/audit?applicationId=99999999999')).body.errors[0].path).toBe('applicationId');
    for (const user of ['nj.s1', 'nj.edu']) {
      expect((await as(stack, user).get('/api/admin/audit')).status).toBe(403);
    }
  });

  test('is in the OpenAPI document, with the override', async () => {
    const doc = (await request(stack.app).get('/api/openapi.json')).body;
    expect(doc.paths['/api/admin/audit'].get).toBeDefined();
    expect(doc.paths['/api/admin/applications/{id}/override'].post).toBeDefined();
  });
});

describe('administrator override', () => {
  test('an administrator decides a stage only through the override, with a reason, and it is audited', async () => {
    const filed = await fileTransfer(stack, 'nj.s1', LI);
    expect(filed.status).toBe(201);
    const id: number = filed.body.id;
    const override = (user: string, body: Record<string, unknown>) =>
      as(stack, user).post(`/api/admin/applications/${id}/override`, body);
    const reason = '学校账号被锁定，经电话确认同意接收';

    // Not through the ordinary route, not without a reason, not by anyone else.
    expect((await decideAs(stack, 'admin', id, 'RECEIVING_SCHOOL')).status).toBe(403);
    const noReason = await override('admin', { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors.map((e: { path: string }) => e.path)).toEqual(['reason']);
    const short = await override('admin', { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason: '同意' });
    expect(short.status).toBe(400);
    expect(short.body.errors[0].path).toBe('reason');
    for (const user of ['nj.s1', 'nj.edu']) {
      expect((await override(user, { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason })).status).toBe(403);
    }
    expect((await override('admin', { stage: 'SENDING_SCHOOL', decision: 'APPROVE', reason })).status).toBe(409);
    expect((await trailOf(stack.prisma, id)).map((r) => r.action)).toEqual(['application.create']);

    const done = await override('admin', { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason });
    expect(done.status).toBe(200);
    const admin = await userOf(stack.prisma, 'admin');
    expect(done.body).toMatchObject({ status: 'IN_REVIEW', currentStage: 'RECEIVING_COUNTY' });
    expect(done.body.steps[0]).toMatchObject({
      stage: 'RECEIVING_SCHOOL',
      decision: 'APPROVE',
      actor: admin.displayName,
      comment: reason,
    });
    const step = await stack.prisma.applicationStep.findFirstOrThrow({
      where: { applicationId: id, stage: 'RECEIVING_SCHOOL' },
    });
    expect(step.actorId).toBe(admin.id);
    const rows = await trailOf(stack.prisma, id);
    expect(rows.map((r) => r.action)).toEqual(['application.create', 'application.override']);
    expect(rows[1]).toMatchObject({
      actorId: admin.id,
      actorName: admin.displayName,
      details: expect.objectContaining({
        stage: 'RECEIVING_SCHOOL',
        decision: 'APPROVE',
        reason,
        orgCode: '5119220001',
      }),
    });

    // The stage is decided: overriding it again is stale, as for any decision. The chain goes on as usual.
    expect((await override('admin', { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason })).status).toBe(409);
    expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(200);
    expect((await trailOf(stack.prisma, id)).map((r) => r.action)).toEqual([
      'application.create',
      'application.override',
      'application.decide',
    ]);
  });

  test('the workflow itself refuses an administrator without an override and an override by anyone else', async () => {
    const id = (await fileTransfer(stack, 'nj.s1', await otherPupil(stack.prisma))).body.id as number;
    const handle = stack.temporal.workflow.getHandle(`application-${id}`);
    const decide = (actor: Actor, override?: { reason: string }) =>
      handle
        .executeUpdate(decideUpdate, {
          args: [{ stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', comment: null, actor, override }],
        })
        .then(
          () => 'accepted',
          (e: unknown) => (e instanceof WorkflowUpdateFailedError ? (e.cause as { type?: string }).type : String(e)),
        );
    const admin = actorOf(await authUser(stack.prisma, 'admin'));
    const clerk = actorOf(await authUser(stack.prisma, 'nj.s1'));
    expect(await decide(admin)).toBe('WrongOrganisation');
    expect(await decide(admin, { reason: '  ' })).toBe('CommentRequired');
    expect(await decide(clerk, { reason: '我想代为审核' })).toBe('AdminOnly');
    expect((await trailOf(stack.prisma, id)).map((r) => r.action)).toEqual(['application.create']);
  });
});
