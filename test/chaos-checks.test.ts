import { messageIdFor } from '../infra/mailer';
import { runChecks, type Check, type CheckInput } from '../scripts/chaos-checks';
import type { CaseRecord } from '../scripts/chaos-clients';
import { planFaults, planCases, FAULT_KINDS, type CasePlan, type Pupil } from '../scripts/chaos-plan';
import type { Received } from './support/smtp';
import { as, decideAs, fileTransfer, startStack, waitFor, ZHANG, SOON, type TestStack } from './support/stack';

// The chaos suite's invariants must be able to fail: each is run here on a real case history, first as it is (all
// pass), then with one thing broken at a time (that check, and only that one, fails and names what broke).

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const pupilOf = async (studentNo: string): Promise<Pupil> => {
  const p = await stack.prisma.student.findUniqueOrThrow({ where: { studentNo }, include: { school: true } });
  return {
    studentNo,
    schoolCode: p.schoolCode,
    countyCode: p.school.parentCode!,
    status: p.status,
    grade: p.grade,
  };
};

const record = (plan: Partial<CasePlan> & Pick<CasePlan, 'type' | 'pupil' | 'expected'>, id: number): CaseRecord => ({
  plan: { index: id, applicant: '', body: {}, chain: [], ending: { kind: 'approve' }, thinkMs: [], ...plan },
  id,
  createdVia: 'created',
  done: true,
  anomalies: [],
  trace: [],
  appliedUnanswered: [],
  startedAt: 0,
  endedAt: 0,
});

/** The mail invariant's name, as the report prints it. */
const MAIL_CHECK = 'one delivered mail per outbox key, a repeat only after its sender was killed before recording it';

describe('the invariants', () => {
  let input: CheckInput;
  const failing = async (more: Partial<CheckInput> = {}) =>
    (await runChecks({ ...input, ...more })).filter((c) => !c.ok).map((c: Check) => [c.name, c.failures]);

  beforeAll(async () => {
    // An approved 跳级 at 红花岗区第一小学 and a transfer of 张小明 withdrawn by the receiving school.
    const pupil = await stack.prisma.student.findFirstOrThrow({
      where: { schoolCode: '5203020001', status: 'ENROLLED', grade: { lt: 6 }, studentNo: { not: ZHANG } },
    });
    const before = new Map([
      [pupil.studentNo, await pupilOf(pupil.studentNo)],
      [ZHANG, await pupilOf(ZHANG)],
    ]);
    const skip = await as(stack, 'hhg.s1').post('/api/applications', {
      type: 'SKIP_GRADE',
      studentNo: pupil.studentNo,
      reason: '成绩优异',
      effectiveDate: SOON,
    });
    expect(skip.status).toBe(201);
    expect((await decideAs(stack, 'hhg.s1', skip.body.id, 'SCHOOL')).status).toBe(200);
    expect((await decideAs(stack, 'hhg.edu', skip.body.id, 'COUNTY')).body.status).toBe('APPROVED');
    const transfer = await fileTransfer(stack, 'nj.s1', ZHANG);
    expect(transfer.status).toBe(201);
    const w = await as(stack, 'nj.s1').post(`/api/applications/${transfer.body.id}/withdraw`, { reason: '不转了' });
    expect(w.body.status).toBe('WITHDRAWN');
    // Both workflows finish.
    await waitFor(async () => {
      for await (const _ of stack.temporal.workflow.list({
        query: `TaskQueue = '${stack.taskQueue}' AND ExecutionStatus = 'Running'`,
      }))
        return false;
      return true;
    });
    // The workflows have written their mail into the outbox; the dispatcher sends and records it on its own time.
    await waitFor(async () => (await stack.prisma.mailOutbox.count({ where: { sentAt: null } })) === 0);
    const rows = await stack.prisma.mailOutbox.findMany();
    expect(rows.length).toBeGreaterThan(0);
    const mail: Received[] = rows.map((r) => ({
      at: Date.now(),
      to: r.toAddresses,
      headers: new Map([['message-id', `<${messageIdFor(r.key)}@xueji.local>`]]),
      subject: r.subject,
      text: r.text,
      html: r.html,
    }));
    input = {
      prisma: stack.prisma,
      temporal: stack.temporal,
      taskQueue: stack.taskQueue,
      records: [
        record({ type: 'SKIP_GRADE', pupil: before.get(pupil.studentNo)!, expected: 'APPROVED' }, skip.body.id),
        record(
          {
            type: 'TRANSFER',
            pupil: before.get(ZHANG)!,
            expected: 'WITHDRAWN',
            ending: { kind: 'withdraw', afterApprovals: 0 },
          },
          transfer.body.id,
        ),
      ],
      attempts: [
        {
          at: Date.now(),
          method: 'POST',
          route: 'POST /api/applications',
          path: '/api/applications',
          status: 503,
          ms: 1,
        },
      ],
      mail,
      mailLeaseMs: 60_000,
      faults: [{ n: 1, kind: 'postgres', variant: 'sigkill', at: new Date(Date.now() - 1000).toISOString() }],
      processes: [
        { name: 'api', crashes: [] },
        { name: 'worker-1', crashes: [] },
      ],
    };
  });

  test('all hold on a correct history', async () => {
    const checks = await runChecks(input);
    expect(checks.map((c) => c.name)).toEqual([
      'none lost',
      'none stuck',
      'one history line and one move per approved case',
      MAIL_CHECK,
      'no mail left undelivered',
      'the audit chain verifies',
      'no running workflow for a closed case',
      'no answer ≥ 500 other than 503',
      'every answer was one the contract allows',
      'no process exited on its own',
    ]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  test('a case ending otherwise than planned, or one no client was told of, is lost', async () => {
    const [approved, withdrawn] = input.records;
    expect(
      await failing({ records: [{ ...approved, plan: { ...approved.plan, expected: 'REJECTED' } }, withdrawn] }),
    ).toEqual([['none lost', [expect.stringMatching(/expected REJECTED, is APPROVED/)]]]);
    const lost = await failing({ records: [approved] });
    expect(lost.map(([name]) => name)).toEqual(['none lost']);
    expect(lost[0][1]).toEqual([expect.stringMatching(`case id ${withdrawn.id} .* no client was told of it`)]);
  });

  test('a pupil not as the case says, a mail twice or never delivered, a 500 and an unexpected answer are named', async () => {
    const [approved] = input.records;
    const pupil = approved.plan.pupil;
    // As if the pupil had been a grade lower before: one grade up is then not what the database shows.
    const lower = { ...approved, plan: { ...approved.plan, pupil: { ...pupil, grade: pupil.grade - 1 } } };
    const moved = await failing({ records: [lower, input.records[1]] });
    expect(moved).toEqual([
      ['one history line and one move per approved case', [expect.stringMatching(/expected .*grade/)]],
    ]);

    const first = input.mail[0].at;
    const again = { ...input.mail[0], at: first + 60_500 }; // once the sender's lease ran out
    const twice = await failing({ mail: [...input.mail, again] });
    expect(twice).toEqual([
      [
        MAIL_CHECK,
        [
          expect.stringMatching(
            /delivered 2 times .*not after a worker killed as it sent, nor a lease later; fault 1 postgres\/sigkill/,
          ),
        ],
      ],
    ]);
    // The repeat the design allows: the worker that sent it killed as the server accepted it, before its record.
    const killed = (ms: number) => ({
      n: 2,
      kind: 'worker',
      variant: 'worker-1',
      at: new Date(first + ms).toISOString(),
    });
    const allowed = await runChecks({ ...input, mail: [...input.mail, again], faults: [...input.faults, killed(3)] });
    const mailCheck = allowed.find((c) => c.name === MAIL_CHECK)!;
    expect(mailCheck.ok).toBe(true);
    expect(mailCheck.summary).toMatch(
      /1 repeated: .*delivered 2 times .*fault 2 worker\/worker-1 3 ms after delivery 1/,
    );
    // A repeat sooner than the lease is not a resend after a crash, whoever was killed: two sends of one claim.
    const soon = { ...input.mail[0], at: first + 1_000 };
    expect(await failing({ mail: [...input.mail, soon], faults: [...input.faults, killed(3)] })).toEqual([
      [MAIL_CHECK, [expect.stringMatching(/delivered 2 times .*nor a lease later/)]],
    ]);
    // A worker killed long after the delivery had recorded it by then: the repeat is not explained.
    expect(await failing({ mail: [...input.mail, again], faults: [...input.faults, killed(20_000)] })).toEqual([
      [MAIL_CHECK, [expect.stringMatching(/delivered 2 times .*not after a worker killed as it sent/)]],
    ]);
    const never = await failing({ mail: input.mail.slice(1) });
    expect(never).toEqual([[MAIL_CHECK, [expect.stringMatching(/never reached the SMTP sink/)]]]);

    const a500 = { ...input.attempts[0], status: 500, requestId: 'r-1', detail: '系统出错了' };
    expect(await failing({ attempts: [...input.attempts, a500] })).toEqual([
      ['no answer ≥ 500 other than 503', [expect.stringMatching(/POST \/api\/applications 500 × 1,.*r-1/)]],
    ]);
    const crashed = [
      { name: 'api', crashes: [] },
      { name: 'worker-1', crashes: ['code 1'] },
    ];
    expect(await failing({ processes: crashed })).toEqual([
      ['no process exited on its own', ['worker-1 exited (code 1) with no fault to end it']],
    ]);
    const odd = { ...approved, anomalies: ['COUNTY APPROVE answered 403: 当前环节不由您的单位办理'] };
    expect(await failing({ records: [odd, input.records[1]] })).toEqual([
      ['every answer was one the contract allows', [expect.stringMatching(/answered 403/)]],
    ]);
  });

  test('unsent mail, a second history line, a running workflow of a closed case and an edited audit row are named', async () => {
    const [approved] = input.records;
    const row = await stack.prisma.mailOutbox.findFirstOrThrow();
    await stack.prisma.mailOutbox.update({ where: { id: row.id }, data: { sentAt: null } });
    expect(await failing()).toEqual([['no mail left undelivered', [expect.stringContaining(`${row.key}: not sent`)]]]);
    await stack.prisma.mailOutbox.update({ where: { id: row.id }, data: { sentAt: new Date() } });

    const line = await stack.prisma.studentHistory.findFirstOrThrow({ where: { applicationId: approved.id! } });
    const { id: _id, createdAt: _c, applicationId: _a, ...copy } = line;
    await stack.prisma.studentHistory.create({ data: copy });
    expect(await failing()).toEqual([
      [
        'one history line and one move per approved case',
        expect.arrayContaining([expect.stringMatching(/2 history lines \(moved more than once\)/)]),
      ],
    ]);

    // A case the read model says is closed while its workflow still waits for a decision.
    const open = await as(stack, 'hhg.s2').post('/api/applications', {
      type: 'SKIP_GRADE',
      studentNo: (
        await stack.prisma.student.findFirstOrThrow({
          where: { schoolCode: '5203020002', status: 'ENROLLED', grade: { lt: 6 } },
        })
      ).studentNo,
      reason: '成绩优异',
      effectiveDate: SOON,
    });
    expect(open.status).toBe(201);
    await stack.prisma.application.update({ where: { id: open.body.id }, data: { status: 'CANCELLED' } });
    const closedButRunning = await failing({
      records: [
        ...input.records,
        record(
          { type: 'SKIP_GRADE', pupil: await pupilOf(open.body.student.studentNo), expected: 'CANCELLED' },
          open.body.id,
        ),
      ],
    });
    expect(closedButRunning.map(([name]) => name)).toContain('no running workflow for a closed case');

    await stack.prisma.$executeRawUnsafe(
      `update "AuditEvent" set "actorName" = 'someone else' where seq = (select min(seq) from "AuditEvent" where "applicationId" = ${approved.id})`,
    );
    expect((await failing()).map(([name]) => name)).toContain('the audit chain verifies');
  });
});

describe('the plan', () => {
  const pupils: Pupil[] = Array.from({ length: 400 }, (_, i) => ({
    studentNo: `G5203022015${String(i).padStart(7, '0')}`,
    schoolCode: ['5203020001', '5203020002', '5119220001', '5119220002'][i % 4],
    countyCode: i % 4 < 2 ? '520302' : '511922',
    status: i % 50 === 0 ? 'SUSPENDED' : 'ENROLLED',
    grade: 1 + (i % 6),
  }));

  test('is the same for the same seed, another for another seed, one case per pupil', () => {
    const a = planCases('s1', 200, pupils);
    expect(planCases('s1', 200, [...pupils].reverse())).toEqual(a);
    expect(planCases('s2', 200, pupils)).not.toEqual(a);
    expect(new Set(a.map((p) => p.pupil.studentNo)).size).toBe(200);
    const kinds = new Set(a.map((p) => p.ending.kind));
    expect([...kinds].sort()).toEqual(['approve', 'reject', 'return', 'withdraw']);
    expect(a.filter((p) => p.type === 'TRANSFER').length).toBeGreaterThan(60);
    for (const p of a) {
      // Within one county the bureau acts once: three stages; across counties four.
      if (p.type === 'TRANSFER')
        expect(p.chain.length).toBe(p.chain[0].orgCode.slice(0, 6) === p.pupil.countyCode ? 3 : 4);
      expect(p.chain.every((s) => s.user)).toBe(true);
      if (p.type === 'RESUME') expect(p.pupil.status).toBe('SUSPENDED');
    }
  });

  test('spreads faults evenly over the four kinds', () => {
    const f = planFaults('s1', 14, { gapMs: [100, 200], outageMs: [300, 400] });
    const per = FAULT_KINDS.map((k) => f.filter((x) => x.kind === k).length);
    expect(Math.min(...per)).toBe(3);
    expect(Math.max(...per)).toBe(4);
    expect(planFaults('s1', 14, { gapMs: [100, 200], outageMs: [300, 400] })).toEqual(f);
    expect(f.every((x) => x.gapMs >= 100 && x.gapMs <= 200 && x.outageMs >= 300 && x.outageMs <= 400)).toBe(true);
  });
});
