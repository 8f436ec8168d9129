import fc from 'fast-check';
import { checkChangeLegal, gradeAfter, MAX_GRADE, statusAfter, type PupilState } from './status-machine';
import { CHANGE_TYPES, STUDENT_STATUSES, type ChangeType } from './types';

const changeType = fc.constantFrom(...CHANGE_TYPES);
const pupil: fc.Arbitrary<PupilState> = fc.record({
  status: fc.constantFrom(...STUDENT_STATUSES),
  problemFlag: fc.boolean(),
  grade: fc.integer({ min: 1, max: MAX_GRADE }),
});
const CHINESE = /[\u4e00-\u9fff]/;

/** The pupil after an approved change (no longer flagged: only a legal change gets approved). */
const after = (type: ChangeType, p: PupilState): PupilState => ({
  status: statusAfter(type, p.status),
  problemFlag: false,
  grade: gradeAfter(type, p.grade),
});

describe('the pupil status machine, for every change type and pupil state', () => {
  test('nothing is legal for a deceased pupil or a problem record', () => {
    fc.assert(
      fc.property(changeType, pupil, (type, p) => {
        if (p.status === 'DECEASED' || p.problemFlag) expect(checkChangeLegal(type, p).legal).toBe(false);
      }),
    );
  });

  test('复学 is legal only from 休学', () => {
    fc.assert(
      fc.property(pupil, (p) => {
        expect(checkChangeLegal('RESUME', p).legal).toBe(p.status === 'SUSPENDED' && !p.problemFlag);
      }),
    );
  });

  test('every refusal carries a reason in Chinese for the clerk', () => {
    fc.assert(
      fc.property(changeType, pupil, (type, p) => {
        const v = checkChangeLegal(type, p);
        if (!v.legal) {
          expect(v.reason.trim().length).toBeGreaterThan(0);
          expect(v.reason).toMatch(CHINESE);
        }
      }),
    );
  });

  test('after a legal change the reverse rules hold', () => {
    fc.assert(
      fc.property(changeType, pupil, (type, p) => {
        if (!checkChangeLegal(type, p).legal) return;
        const q = after(type, p);
        const legal = (t: ChangeType) => checkChangeLegal(t, q).legal;
        switch (type) {
          case 'SUSPEND':
            expect(q.status).toBe('SUSPENDED');
            expect(legal('RESUME')).toBe(true);
            expect(legal('SUSPEND')).toBe(false);
            break;
          case 'RESUME':
            expect(q.status).toBe('ENROLLED');
            expect(legal('SUSPEND')).toBe(true);
            expect(legal('RESUME')).toBe(false);
            break;
          case 'SKIP_GRADE':
            expect(q.grade).toBe(p.grade + 1);
            expect(legal('REPEAT_GRADE')).toBe(true);
            break;
          case 'REPEAT_GRADE':
            expect(q.grade).toBe(p.grade - 1);
            expect(legal('SKIP_GRADE')).toBe(true);
            break;
          case 'TRANSFER':
            expect(q).toEqual({ ...p, problemFlag: false });
            expect(legal('TRANSFER')).toBe(true);
            break;
          case 'DROP_OUT':
          case 'STUDY_ABROAD':
            // Out of school: no transfer, suspension or resumption until the record is restored.
            expect(['DROPPED_OUT', 'ABROAD']).toContain(q.status);
            for (const t of ['TRANSFER', 'SUSPEND', 'RESUME'] as const) expect(legal(t)).toBe(false);
            break;
          case 'DECEASED':
            expect(q.status).toBe('DECEASED');
            for (const t of CHANGE_TYPES) expect(legal(t)).toBe(false);
            break;
        }
        // A pupil who is alive can always be recorded as deceased.
        if (q.status !== 'DECEASED') expect(legal('DECEASED')).toBe(true);
      }),
    );
  });
});
