// 纠错: the pupil's most recent completed change reversed through its own approval chain, on the real stack.

import request from 'supertest';
import { CN_WORKING_CALENDAR, shanghaiDate } from '../domain/calendar';
import { reversalDeadline } from '../api/services/reversal';
import { ensurePoppler, pdfText } from './support/poppler';
import { as, decideAs, fileTransfer, startStack, ZHANG, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  ensurePoppler();
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const TRANSFER_CHAIN = [
  ['nj.s1', 'RECEIVING_SCHOOL'],
  ['nj.edu', 'RECEIVING_COUNTY'],
  ['hhg.s1', 'SENDING_SCHOOL'],
  ['hhg.edu', 'SENDING_COUNTY'],
] as const;

async function approveAll(id: number, chain: readonly (readonly [string, string])[]) {
  let last;
  for (const [user, stage] of chain) {
    last = await decideAs(stack, user, id, stage);
    expect(last.status).toBe(200);
  }
  return last!;
}
const SCHOOL_CHAIN = [
  ['nj.s2', 'SCHOOL'],
  ['nj.edu', 'COUNTY'],
] as const;

let used = 0;
/** A generated pupil of 南江县第二小学 (nj.s2), different on every call. */
async function pupil() {
  const rows = await stack.prisma.student.findMany({
    where: { schoolCode: '5119220002', status: 'ENROLLED', grade: { gte: 2, lte: 5 } },
    orderBy: { studentNo: 'asc' },
  });
  return rows[used++ % rows.length];
}

async function suspendApproved(studentNo: string) {
  const filed = await as(stack, 'nj.s2').post('/api/applications', {
    type: 'SUSPEND',
    studentNo,
    reason: '因病休养',
    effectiveDate: day(0),
    details: { expectedReturnDate: day(120) },
  });
  expect(filed.status).toBe(201);
  const done = await approveAll(filed.body.id, SCHOOL_CHAIN);
  expect(done.body.status).toBe('APPROVED');
  return filed.body.id as number;
}

/** The family's page (no login), from one address. */
const progress = (access: { ref: string; code: string }) =>
  request(stack.app)
    .post('/api/public/progress')
    .set('X-Forwarded-For', '203.0.113.40')
    .send({ ref: access.ref, code: access.code });

const reverse = (user: string, id: number, body: unknown = { reason: '录入错误，学生实际未转学' }) =>
  as(stack, user).post(`/api/applications/${id}/reversal`, body);

async function pdf(user: string, url: string) {
  return request(stack.app)
    .get(url)
    .set('Authorization', `Bearer ${await stack.login(user)}`)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

describe('a transfer reversed through its own chain', () => {
  test('the pupil returns to the sending school as before; both history lines stay; audit names who; documents revoked', async () => {
    const before = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    const filed = await fileTransfer(stack, 'nj.s1', ZHANG);
    expect(filed.status).toBe(201);
    const original = filed.body.id as number;
    await approveAll(original, TRANSFER_CHAIN);
    const moved = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    expect(moved.schoolCode).toBe('5119220001');
    // Printed for the transfer: its form and its letter.
    expect((await pdf('nj.s1', `/api/applications/${original}/form.pdf`)).status).toBe(200);
    expect((await pdf('nj.s1', `/api/applications/${original}/letter.pdf`)).status).toBe(200);

    // Who may not: the sending school (a party: 403), another school (404), the bureau (403); a reason is required.
    expect((await reverse('hhg.s1', original)).status).toBe(403);
    expect((await reverse('hhg.s2', original)).status).toBe(404);
    expect((await reverse('nj.edu', original)).status).toBe(403);
    const noReason = await reverse('nj.s1', original, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].path).toBe('reason');
    expect((await reverse('nj.s1', original, { reason: '   ' })).status).toBe(400);

    // The family's page before any reversal: approved, nothing about 纠错.
    const family = filed.body.guardianAccess as { ref: string; code: string };
    const approved = await progress(family);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'APPROVED', statusText: '已办结：审核通过', reversal: null });

    const filedReversal = await reverse('nj.s1', original);
    expect(filedReversal.status).toBe(201);
    const reversal = filedReversal.body;
    const today = shanghaiDate(Date.now());
    // While the reversal runs, the family of the original reads so, with the reversal's reference (never its id);
    // the page stays visible until the reversal closes.
    const running = await progress(family);
    expect(running.body.reversal).toEqual({
      status: 'IN_REVIEW',
      statusText: '正在办理纠错：审核通过后，本次学籍变更将撤销',
      ref: reversal.guardianAccess.ref,
      filedOn: today,
      closedOn: null,
    });
    expect(running.body.visibleUntil).toBeNull();
    // The reversal's own page: a case of its own, named 纠错, pointing at the change it undoes.
    const own = await progress(reversal.guardianAccess);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      type: '纠错（转学）',
      status: 'IN_REVIEW',
      statusText: '正在审核纠错申请：审核通过后，原来的学籍变更将撤销',
      stage: '转入学校审核',
      holder: '南江县实验小学',
      reverses: { ref: family.ref, approvedOn: today },
      reversal: null,
    });
    expect(own.body.steps).toHaveLength(4);
    expect(reversal).toMatchObject({
      type: 'TRANSFER',
      status: 'IN_REVIEW',
      reverses: { id: original },
      reversal: null,
      reason: '录入错误，学生实际未转学',
      guardianAccess: expect.objectContaining({ ref: expect.any(String), code: expect.any(String) }),
      fromSchool: { code: '5203020001' },
      toSchool: { code: '5119220001' },
    });
    // The original's chain: the same stages and holders.
    expect(reversal.steps.map((s: { stage: string; org: { code: string } }) => [s.stage, s.org.code])).toEqual([
      ['RECEIVING_SCHOOL', '5119220001'],
      ['RECEIVING_COUNTY', '511922'],
      ['SENDING_SCHOOL', '5203020001'],
      ['SENDING_COUNTY', '520302'],
    ]);
    const shown = await as(stack, 'nj.s1').get(`/api/applications/${original}`);
    expect(shown.body.reversal).toEqual({
      id: reversal.id,
      status: 'IN_REVIEW',
      createdAt: reversal.createdAt,
      closedAt: null,
    });
    // One open case per pupil: a second reversal is refused while this one runs.
    const twice = await reverse('nj.s1', original);
    expect(twice.status).toBe(409);
    expect(twice.body.applicationId).toBe(reversal.id);
    // Nothing changes until the chain approves.
    expect((await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } })).schoolCode).toBe(
      '5119220001',
    );

    const done = await approveAll(reversal.id, TRANSFER_CHAIN);
    expect(done.body.status).toBe('APPROVED');
    // Its mail names it a reversal of the original.
    const mails = await stack.prisma.mailOutbox.findMany({ where: { applicationId: reversal.id } });
    expect(mails.length).toBeGreaterThan(0);
    for (const m of mails) expect(m.subject).toContain(`纠错申请（撤销第 ${original} 号转学`);

    const after = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: ZHANG } });
    expect({ school: after.schoolCode, grade: after.grade, className: after.className, status: after.status }).toEqual({
      school: before.schoolCode,
      grade: before.grade,
      className: before.className,
      status: before.status,
    });
    const record = await as(stack, 'hhg.s1').get(`/api/students/${ZHANG}`);
    expect(record.status).toBe(200);
    const lines = record.body.history.filter((h: { applicationId: number }) =>
      [original, reversal.id].includes(h.applicationId),
    );
    expect(lines).toEqual([
      expect.objectContaining({
        applicationId: original,
        fromSchool: expect.objectContaining({ code: '5203020001' }),
        toSchool: expect.objectContaining({ code: '5119220001' }),
        reverses: null,
      }),
      expect.objectContaining({
        applicationId: reversal.id,
        type: 'TRANSFER',
        fromSchool: expect.objectContaining({ code: '5119220001' }),
        toSchool: expect.objectContaining({ code: '5203020001' }),
        reverses: original,
      }),
    ]);

    // The audit trail: who filed it, who approved it, on the reversal and on the original.
    const filedBy = await stack.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'application.reversal', applicationId: reversal.id },
    });
    expect(filedBy).toMatchObject({ actorName: '南江实验小学学籍管理员', orgCode: '5119220001' });
    expect(filedBy.details).toMatchObject({ reverses: original });
    const change = await stack.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'student.change', applicationId: reversal.id },
    });
    expect(change).toMatchObject({ actorName: '红花岗区教育局学籍科', orgCode: '520302' });
    expect(change.details).toMatchObject({ reverses: original, toSchoolCode: '5203020001' });
    const onOriginal = await stack.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'application.reversed', applicationId: original },
    });
    expect(onOriginal).toMatchObject({ actorName: '红花岗区教育局学籍科', details: { reversal: reversal.id } });

    // Every document printed for the transfer is revoked; the letter cannot be printed again.
    const docs = await as(stack, 'nj.s1').get(`/api/applications/${original}/documents`);
    expect(docs.body.items).toHaveLength(2);
    for (const d of docs.body.items) expect(d.revokedAt).not.toBeNull();
    expect(docs.body.items[0].revokeReason).toContain(String(reversal.id));
    expect(await stack.prisma.auditEvent.count({ where: { action: 'document.revoke', applicationId: original } })).toBe(
      2,
    );
    expect((await pdf('nj.s1', `/api/applications/${original}/letter.pdf`)).status).toBe(409);
    expect((await pdf('nj.s1', `/api/applications/${reversal.id}/letter.pdf`)).status).toBe(409);
    const form = await pdf('nj.s1', `/api/applications/${reversal.id}/form.pdf`);
    expect(form.status).toBe(200);
    expect(pdfText(form.body as Buffer)).toContain(`撤销业务编号 ${original} 的学籍变更`);

    // Both cases link to each other; the original shows it is reversed.
    const reversedOn = shanghaiDate(Date.now());

    // The family's page of the original: reversed, when, under which reference; visible 90 days from the reversal.
    const undone = await progress(family);
    expect(undone.status).toBe(200);
    expect(undone.body).toMatchObject({
      status: 'APPROVED',
      statusText: '已办结：审核通过，此后经纠错已撤销，学籍已恢复为变更前的状态',
      reversal: {
        status: 'APPROVED',
        statusText: '已纠错：本次学籍变更已撤销，学籍已恢复为变更前的状态',
        ref: reversal.guardianAccess.ref,
        filedOn: today,
        closedOn: reversedOn,
      },
      reverses: null,
    });
    expect(undone.body.visibleUntil >= undone.body.closedOn).toBe(true);
    const ownDone = await progress(reversal.guardianAccess);
    expect(ownDone.body).toMatchObject({
      type: '纠错（转学）',
      status: 'APPROVED',
      statusText: '已办结：纠错审核通过，原来的学籍变更已撤销，学籍已恢复为变更前的状态',
      closedOn: reversedOn,
    });
    // No name, no ID number, no reason or comment on either page (DESIGN §5), and no case id.
    for (const body of [undone.body, ownDone.body]) {
      const text = JSON.stringify(body);
      for (const secret of ['张小明', ZHANG, ZHANG.slice(1), '录入错误', `"id"`]) {
        expect(text).not.toContain(secret);
      }
    }
    const originalNow = (await as(stack, 'nj.s1').get(`/api/applications/${original}`)).body;
    expect(originalNow.reversal).toEqual({
      id: reversal.id,
      status: 'APPROVED',
      createdAt: reversal.createdAt,
      closedAt: expect.any(String),
    });
    expect(shanghaiDate(Date.parse(originalNow.reversal.closedAt))).toBe(reversedOn);

    // Every lookup of the pupil says the change was reversed, when, and by which case — the case numbers only to
    // organisations that may open them, and never a school's name.
    const note = {
      type: 'TRANSFER',
      reversedOn,
      applicationId: original,
      reversalId: reversal.id,
      label: `已纠错（最近一次转学，业务 ${original}，${reversedOn} 经纠错撤销，纠错业务 ${reversal.id}）`,
    };
    const looked = await as(stack, 'hhg.s1').get(
      `/api/students?schoolCode=5203020001&name=${encodeURIComponent('张小明')}`,
    );
    expect(looked.status).toBe(200);
    expect(looked.body.items[0].reversedChange).toEqual(note);
    const searched = await as(stack, 'nj.s1').get(`/api/pupils?q=${ZHANG}`);
    expect(searched.status).toBe(200);
    expect(searched.body.items[0].reversedChange).toEqual(note);
    const page = await as(stack, 'hhg.s1').get(`/api/pupils/${searched.body.items[0].ref}`);
    expect(page.body.reversedChange).toEqual(note);
    // hhg.s2 finds the pupil by name at another school but is no party to either case: no case numbers.
    const outsider = await as(stack, 'hhg.s2').get(
      `/api/students?schoolCode=5203020001&name=${encodeURIComponent('张小明')}`,
    );
    expect(outsider.body.items[0].reversedChange).toEqual({
      ...note,
      applicationId: null,
      reversalId: null,
      label: `已纠错（最近一次转学，${reversedOn} 经纠错撤销）`,
    });
    // Neither can be reversed again: a reversal is not reversible, the original is no longer the latest change.
    expect((await reverse('nj.s1', reversal.id)).status).toBe(409);
    const again = await reverse('nj.s1', original);
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('最近一次');
  });
});

describe('a status change reversed', () => {
  test('休学 reversed restores only the status: a grade corrected since stays', async () => {
    const p = await pupil();
    const original = await suspendApproved(p.studentNo);
    // A correction of the record outside any case, after the suspension.
    await stack.prisma.student.update({ where: { studentNo: p.studentNo }, data: { grade: p.grade + 1 } });
    const filed = await reverse('nj.s2', original, { reason: '家长撤回休学申请，学生已正常到校' });
    expect(filed.status).toBe(201);
    expect(filed.body.steps.map((s: { stage: string }) => s.stage)).toEqual(['SCHOOL', 'COUNTY']);
    // Returned by the bureau, it is corrected (its reason) and sent round again like any case.
    expect((await decideAs(stack, 'nj.s2', filed.body.id, 'SCHOOL')).status).toBe(200);
    const returned = await decideAs(stack, 'nj.edu', filed.body.id, 'COUNTY', 'RETURN', '请写明家长撤回的日期');
    expect(returned.body.status).toBe('RETURNED');
    const resubmitted = await as(stack, 'nj.s2').post(`/api/applications/${filed.body.id}/resubmit`, {
      reason: '家长于本周一撤回休学申请，学生已正常到校',
    });
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body).toMatchObject({ status: 'IN_REVIEW', round: 2, reverses: { id: original } });
    const done = await approveAll(filed.body.id, SCHOOL_CHAIN);
    expect(done.body.status).toBe('APPROVED');
    const after = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo: p.studentNo } });
    expect(after).toMatchObject({ status: 'ENROLLED', grade: p.grade + 1, schoolCode: p.schoolCode });
    const lines = await stack.prisma.studentHistory.findMany({
      where: { studentNo: p.studentNo },
      orderBy: { id: 'asc' },
    });
    expect(lines.map((l) => [l.applicationId, l.fromStatus, l.toStatus, l.reversesApplicationId])).toEqual([
      [original, 'ENROLLED', 'SUSPENDED', null],
      [filed.body.id, 'SUSPENDED', 'ENROLLED', original],
    ]);
  });
});

describe('a reversal refused', () => {
  test('the family of the original reads that its change stands; no lookup says 已纠错', async () => {
    const p = await pupil();
    const filed = await as(stack, 'nj.s2').post('/api/applications', {
      type: 'SUSPEND',
      studentNo: p.studentNo,
      reason: '因病休养',
      effectiveDate: day(0),
      details: { expectedReturnDate: day(120) },
    });
    expect(filed.status).toBe(201);
    await approveAll(filed.body.id, SCHOOL_CHAIN);
    const reversal = await reverse('nj.s2', filed.body.id, { reason: '家长撤回休学申请' });
    expect(reversal.status).toBe(201);
    const refused = await decideAs(stack, 'nj.s2', reversal.body.id, 'SCHOOL', 'REJECT', '家长已确认继续休学');
    expect(refused.body.status).toBe('REJECTED');

    const today = shanghaiDate(Date.now());
    const original = await progress(filed.body.guardianAccess);
    expect(original.body).toMatchObject({
      status: 'APPROVED',
      statusText: '已办结：审核通过',
      reversal: {
        status: 'REJECTED',
        statusText: '曾申请纠错，未获通过：本次学籍变更仍然有效',
        ref: reversal.body.guardianAccess.ref,
        filedOn: today,
        closedOn: today,
      },
    });
    const own = await progress(reversal.body.guardianAccess);
    expect(own.body).toMatchObject({
      type: '纠错（休学）',
      status: 'REJECTED',
      statusText: '已办结：纠错审核未通过，原来的学籍变更仍然有效；原因请向申请学校咨询',
      reverses: { ref: filed.body.guardianAccess.ref, approvedOn: today },
    });
    expect(JSON.stringify(own.body)).not.toContain('继续休学');
    const found = await as(stack, 'nj.s2').get(`/api/pupils?q=${p.studentNo}`);
    expect(found.body.items[0]).toMatchObject({ status: 'SUSPENDED', reversedChange: null, openCase: null });
  });
});

describe('refusals', () => {
  test('only the most recent completed change: 休学 then 复学, the 休学 is refused and the 复学 may be reversed', async () => {
    const p = await pupil();
    const suspend = await suspendApproved(p.studentNo);
    const resume = await as(stack, 'nj.s2').post('/api/applications', {
      type: 'RESUME',
      studentNo: p.studentNo,
      reason: '身体康复',
      effectiveDate: day(0),
    });
    expect(resume.status).toBe(201);
    await approveAll(resume.body.id, SCHOOL_CHAIN);
    const old = await reverse('nj.s2', suspend);
    expect(old.status).toBe(409);
    expect(old.body.detail).toContain(`编号 ${resume.body.id}`);
    expect((await reverse('nj.s2', resume.body.id)).status).toBe(201);
  });

  test('a case not approved, or with a case open for the pupil, is refused with 409', async () => {
    const p = await pupil();
    const open = await as(stack, 'nj.s2').post('/api/applications', {
      type: 'SUSPEND',
      studentNo: p.studentNo,
      reason: '因病休养',
      effectiveDate: day(0),
      details: { expectedReturnDate: day(120) },
    });
    const notApproved = await reverse('nj.s2', open.body.id);
    expect(notApproved.status).toBe(409);
    expect(notApproved.body.detail).toContain('审批通过');

    const q = await pupil();
    const approved = await suspendApproved(q.studentNo);
    const resume = await as(stack, 'nj.s2').post('/api/applications', {
      type: 'RESUME',
      studentNo: q.studentNo,
      reason: '身体康复',
      effectiveDate: day(0),
    });
    expect(resume.status).toBe(201);
    const busy = await reverse('nj.s2', approved);
    expect(busy.status).toBe(409);
    expect(busy.body.applicationId).toBe(resume.body.id);
  });

  test('after the window (30 calendar days by default) it is refused, naming the last day', async () => {
    const p = await pupil();
    const original = await suspendApproved(p.studentNo);
    // The approval 31 days ago.
    await stack.prisma.studentHistory.update({
      where: { applicationId: original },
      data: { createdAt: new Date(Date.now() - 31 * 86_400_000) },
    });
    const late = await reverse('nj.s2', original);
    expect(late.status).toBe(409);
    expect(late.body.detail).toContain('纠错时限');
    expect(late.body.detail).toContain(shanghaiDate(Date.now() - 86_400_000));
  });

  test('the window in calendar or working days, counted from the China day of the approval', async () => {
    // Friday 2026-12-04, 10:00 in Beijing.
    const approvedAt = new Date('2026-12-04T02:00:00Z');
    expect(await reversalDeadline(stack.prisma, approvedAt, { days: 30, unit: 'calendar' })).toBe('2027-01-03');
    expect(await reversalDeadline(stack.prisma, approvedAt, { days: 1, unit: 'working' })).toBe('2026-12-07');
    expect(await reversalDeadline(stack.prisma, approvedAt, { days: 10, unit: 'working' })).toBe(
      CN_WORKING_CALENDAR.addWorkingDays('2026-12-04', 10).date,
    );
  });
});
