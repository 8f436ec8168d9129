import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { DEFAULT_DEADLINE_POLICY } from '../domain/deadlines';
import { loadReviewLevels } from '../infra/review-levels';
import {
  as,
  decideAs,
  EIGHT_STAGES,
  fileTransfer,
  startStack,
  waitFor,
  ZHANG,
  LI,
  type TestStack,
} from './support/stack';

// Approval cases live for weeks, so workflow code must replay the histories of cases already in flight.
// Every history under workflows/__histories__ was recorded from an earlier version of the workflow and
// must replay without a determinism error. `RECORD_HISTORIES=v7 npx jest test/replay.test.ts` records new
// ones from the current code, named v7-*.json (do that before changing the workflow, and commit them). v1–v4 run
// the remote-activity paths kept for cases started before LEAN_PATCH; v5 the lean one (local activities); v6 the lean
// one (unchanged since v5) over the eight stages the example review levels give a transfer between two provinces,
// recorded alone with `RECORD_HISTORIES=v6 npx jest test/replay.test.ts -t 'eight stages'`.
const DIR = path.resolve(__dirname, '..', 'workflows', '__histories__');
const TSX = path.resolve(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
const EXAMPLE_LEVELS = path.resolve(__dirname, '..', 'settings', 'review-levels.example.json');

/** The chain a recorded history's workflow was started with (its input, as the API wrote it at filing). */
function recordedChain(file: string): string[] {
  const history = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
  const started = history.events[0].workflowExecutionStartedEventAttributes;
  const input = JSON.parse(Buffer.from(started.input.payloads[0].data, 'base64').toString('utf8'));
  return input.chain.map((c: { stage: string }) => c.stage);
}

if (process.env.RECORD_HISTORIES) {
  describe('recording histories', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startStack();
    });
    afterAll(async () => {
      await stack?.close();
    });
    // The CLI's JSON export: the format the Temporal UI downloads and runReplayHistory reads.
    const save = async (name: string, id: number) => {
      const json = execFileSync(process.env.TEMPORAL_CLI_PATH!, [
        'workflow',
        'show',
        '--workflow-id',
        `application-${id}`,
        '--address',
        process.env.TEST_TEMPORAL_ADDRESS!,
        '--output',
        'json',
      ]);
      fs.writeFileSync(path.join(DIR, `${process.env.RECORD_HISTORIES}-${name}.json`), json);
    };
    test('records an approved, a rejected, a withdrawn and an open case', async () => {
      const approved = (await fileTransfer(stack, 'nj.s1', ZHANG)).body.id;
      for (const [u, s] of [
        ['nj.s1', 'RECEIVING_SCHOOL'],
        ['nj.edu', 'RECEIVING_COUNTY'],
        ['hhg.s1', 'SENDING_SCHOOL'],
        ['hhg.edu', 'SENDING_COUNTY'],
      ]) {
        expect((await decideAs(stack, u, approved, s)).status).toBe(200);
      }
      await save('transfer-approved', approved);
      const rejected = (await fileTransfer(stack, 'hhg.s2', LI)).body.id;
      await decideAs(stack, 'hhg.s2', rejected, 'RECEIVING_SCHOOL');
      expect((await decideAs(stack, 'hhg.edu', rejected, 'RECEIVING_COUNTY', 'REJECT', '学位已满')).status).toBe(200);
      await save('transfer-rejected', rejected);
      const pupils = await stack.prisma.student.findMany({
        where: { schoolCode: '5203020002', status: 'ENROLLED' },
        take: 2,
      });
      const withdrawn = (await fileTransfer(stack, 'nj.s1', pupils[0].studentNo)).body.id;
      await decideAs(stack, 'nj.s1', withdrawn, 'RECEIVING_SCHOOL');
      expect(
        (await as(stack, 'nj.s1').post(`/api/applications/${withdrawn}/withdraw`, { reason: '家长改变主意' })).status,
      ).toBe(200);
      await save('transfer-withdrawn', withdrawn);
      const open = (await fileTransfer(stack, 'nj.s1', pupils[1].studentNo)).body.id;
      await decideAs(stack, 'nj.s1', open, 'RECEIVING_SCHOOL');
      await save('transfer-open', open);

      const more = await stack.prisma.student.findMany({
        where: { schoolCode: '5119220002', status: 'ENROLLED' },
        take: 2,
      });
      const returned = (
        await as(stack, 'nj.s2').post('/api/applications', {
          type: 'STUDY_ABROAD',
          studentNo: more[0].studentNo,
          reason: '家长申请',
          effectiveDate: new Date().toISOString().slice(0, 10),
          details: { destination: '新家坡' },
        })
      ).body.id;
      await decideAs(stack, 'nj.s2', returned, 'SCHOOL');
      await decideAs(stack, 'nj.edu', returned, 'COUNTY', 'RETURN', '国家名称有误');
      expect(
        (
          await as(stack, 'nj.s2').post(`/api/applications/${returned}/resubmit`, {
            details: { destination: '新加坡' },
          })
        ).status,
      ).toBe(200);
      await decideAs(stack, 'nj.s2', returned, 'SCHOOL');
      expect((await decideAs(stack, 'nj.edu', returned, 'COUNTY')).body.status).toBe('APPROVED');
      await save('abroad-returned-resubmitted-approved', returned);
      const cancelled = (await fileTransfer(stack, 'hhg.s1', more[1].studentNo)).body.id;
      expect(
        (await as(stack, 'admin').post(`/api/applications/${cancelled}/cancel`, { reason: '重复申请' })).status,
      ).toBe(200);
      await save('transfer-cancelled', cancelled);
      const extra = await stack.prisma.student.findMany({
        where: { schoolCode: '5119220001', status: 'ENROLLED' },
        take: 1,
      });
      const overridden = (await fileTransfer(stack, 'hhg.s2', extra[0].studentNo)).body.id;
      const override = await as(stack, 'admin').post(`/api/admin/applications/${overridden}/override`, {
        stage: 'RECEIVING_SCHOOL',
        decision: 'APPROVE',
        reason: '学校账号被锁，代为审核',
      });
      expect(override.status).toBe(200);
      await save('transfer-overridden', overridden);
    });

    test('records a case whose timers fired: overdue, reminded, escalated, reminded by hand, extended, approved', async () => {
      const timed = await startStack({
        activities: {
          deadlines: { ...DEFAULT_DEADLINE_POLICY, stageDueMs: 500, reminderIntervalMs: 700, escalateAfterMs: 1200 },
        },
      });
      try {
        const id = (await fileTransfer(timed, 'nj.s1', ZHANG)).body.id;
        await waitFor(async () =>
          (await timed.prisma.applicationStep.findFirst({ where: { applicationId: id, escalatedAt: { not: null } } }))
            ? true
            : null,
        );
        expect((await as(timed, 'admin').post(`/api/admin/applications/${id}/remind`)).status).toBe(200);
        const later = new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10);
        const extended = await as(timed, 'admin').post(`/api/admin/applications/${id}/extend`, {
          stage: 'RECEIVING_SCHOOL',
          dueDate: later,
          reason: '学校放假，延期办理',
        });
        expect(extended.status).toBe(200);
        for (const [u, s] of [
          ['nj.s1', 'RECEIVING_SCHOOL'],
          ['nj.edu', 'RECEIVING_COUNTY'],
          ['hhg.s1', 'SENDING_SCHOOL'],
          ['hhg.edu', 'SENDING_COUNTY'],
        ]) {
          expect((await decideAs(timed, u, id, s)).status).toBe(200);
        }
        await timed.temporal.workflow.getHandle(`application-${id}`).result();
        await save('transfer-overdue-escalated-extended-approved', id);
      } finally {
        await timed.close();
      }
    }, 60_000);

    test('records transfers of eight stages under the example review levels: approved, and open half way', async () => {
      const levels = await startStack({ reviewLevels: loadReviewLevels(EXAMPLE_LEVELS) });
      try {
        const approved = await fileTransfer(levels, 'nj.s1', ZHANG);
        expect(approved.body.steps.map((s: { stage: string }) => s.stage)).toEqual(EIGHT_STAGES.map(([s]) => s));
        for (const [stage, user] of EIGHT_STAGES) {
          expect([stage, (await decideAs(levels, user, approved.body.id, stage)).status]).toEqual([stage, 200]);
        }
        await levels.temporal.workflow.getHandle(`application-${approved.body.id}`).result();
        await save('transfer-eight-stages-approved', approved.body.id);
        const open = (await fileTransfer(levels, 'nj.s1', LI)).body.id;
        for (const [stage, user] of EIGHT_STAGES.slice(0, 5)) await decideAs(levels, user, open, stage);
        await save('transfer-eight-stages-open', open);
      } finally {
        await levels.close();
      }
    }, 60_000);
  });
}

describe('replaying recorded histories', () => {
  test('every recorded history replays on the current workflow code without a determinism error', () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
    for (const v of ['v1-', 'v4-', 'v5-'])
      expect(files.filter((f) => f.startsWith(v)).length).toBeGreaterThanOrEqual(4);
    // In a plain Node process: the SDK's protobuf types do not survive jest's module registry.
    const out = execFileSync(process.execPath, [TSX, path.resolve(__dirname, '..', 'scripts', 'replay-histories.ts')], {
      env: process.env,
      encoding: 'utf8',
    });
    for (const f of files) expect(out).toContain(`replayed ${f}`);
  });

  test('the eight-stage histories were started with the chain of their filing, whatever the settings now', () => {
    // The chain is the workflow's input, written when the case was filed: the histories above replay on a worker
    // that reads no review-level settings at all, so the settings of the day never reach a case in flight.
    expect(recordedChain('v6-transfer-eight-stages-approved.json')).toEqual(EIGHT_STAGES.map(([s]) => s));
    expect(recordedChain('v6-transfer-eight-stages-open.json')).toEqual(EIGHT_STAGES.map(([s]) => s));
    expect(recordedChain('v5-transfer-approved.json')).toEqual([
      'RECEIVING_SCHOOL',
      'RECEIVING_COUNTY',
      'SENDING_SCHOOL',
      'SENDING_COUNTY',
    ]);
  });
});
