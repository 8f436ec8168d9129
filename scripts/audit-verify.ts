// `npm run audit:verify`: walks the audit trail's hash chain and names the first entry that was edited,
// or that follows a deleted or inserted one. Exit 0 when the chain is whole, 1 when it is broken or the
// check could not run. The database is opened as `npm run seed` does (DATABASE_URL, else the embedded one).
import { loadConfig } from '../config';
import { verifyAuditChain } from '../infra/audit';
import { createPrisma } from '../infra/db';
import { openDatabase } from '../infra/environment';

async function main(): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase(config, console.error);
  const prisma = createPrisma(db.url, 2);
  try {
    const result = await verifyAuditChain(prisma);
    if (result.ok) {
      console.log(`OK: ${result.count} entries, head ${result.headHash}`);
      console.log(`审计记录完整：共 ${result.count} 条，最新哈希 ${result.headHash}`);
      return 0;
    }
    const row = await prisma.auditEvent.findUnique({ where: { seq: BigInt(result.brokenAt) } });
    const reasonEn = result.reason.startsWith('prevHash')
      ? 'prevHash does not match the entry before it: an earlier entry was deleted, inserted or changed'
      : 'the entry does not match its hash: it was edited';
    console.error(`BROKEN: entry seq ${result.brokenAt} (${result.count} entries before it verified)`);
    console.error(`审计链断裂：序号 ${result.brokenAt}（此前 ${result.count} 条完好）`);
    if (row) console.error(`  action ${row.action}, at ${row.at.toISOString()}`);
    console.error(`  原因：${result.reason}`);
    console.error(`  reason: ${reasonEn}`);
    return 1;
  } finally {
    await prisma.$disconnect();
    await db.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('审计校验未能完成 (audit verification could not run):', err);
    process.exit(1);
  },
);
