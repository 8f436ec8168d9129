import type { PrismaClient } from './db';
import { hashPassword } from './passwords';
import { appendAudit } from './audit';
import { DEMO_ORGS, DEMO_PASSWORD, DEMO_USERS, demoEmail, demoPupils } from './demo-data';
import { loadDemoHistory, type DemoHistoryCounts } from './demo-history';

/** True when the database holds no organisations yet (a new installation). */
export async function isEmpty(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.organisation.count()) === 0;
}

/**
 * Loads DESIGN.md §4's demo data. With `reset`, first deletes every case, pupil, user and organisation
 * (what `npm run seed` does); without it, expects an empty database. With `history` (`npm start`'s first run and
 * `npm run seed`, not the tests' template), also the demo's past: completed cases of the last nine months
 * (infra/demo-history.ts), dated back from `today`.
 */
export async function seedDemoData(
  prisma: PrismaClient,
  opts: { reset?: boolean; pupilsPerSchool?: number; history?: boolean; today?: string } = {},
) {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const pupils = demoPupils(opts.pupilsPerSchool ?? 300);
  let history = null as DemoHistoryCounts | null;
  await prisma.$transaction(
    async (tx) => {
      if (opts.reset) {
        await tx.studentHistory.deleteMany();
        await tx.applicationStep.deleteMany();
        await tx.issuedDocument.deleteMany();
        await tx.application.deleteMany();
        await tx.student.deleteMany();
        await tx.user.deleteMany();
        await tx.organisation.updateMany({ data: { parentCode: null } });
        await tx.organisation.deleteMany();
      }
      for (const o of DEMO_ORGS) await tx.organisation.create({ data: o });
      await tx.user.createMany({ data: DEMO_USERS.map((u) => ({ ...u, email: demoEmail(u.username), passwordHash })) });
      await tx.student.createMany({
        data: pupils.map((p) => ({ ...p, birthDate: new Date(`${p.birthDate}T00:00:00Z`) })),
      });
      if (opts.history) {
        history = await loadDemoHistory(tx, opts.today);
      } else if (opts.reset) {
        // The statistics roll-up of the deleted cases goes with them.
        await tx.$executeRaw`select xueji_rebuild_stage_rollup()`;
      }
      // Re-seeding deletes every case and pupil: the audit trail (which it keeps) says so. The demo's past is loaded
      // as data from another system would be: this one entry records it, not an entry per case.
      await appendAudit(tx, {
        actor: null,
        action: opts.reset ? 'system.reseed' : 'system.seed',
        details: {
          organisations: DEMO_ORGS.length,
          users: DEMO_USERS.length,
          pupils: pupils.length,
          ...(history ? { history } : {}),
        },
      });
    },
    { timeout: 60_000 },
  );
  return { organisations: DEMO_ORGS.length, users: DEMO_USERS.length, pupils: pupils.length, history };
}
