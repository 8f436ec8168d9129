// `node dist/scripts/temporal-setup.js` (`npm run temporal:setup` in dist/): the one-shot job that prepares a real
// Temporal cluster for us — registers the namespace if the cluster has none (temporal-sql-tool creates only tables)
// and our search attributes. Run once after the schema job and before the workers; running it again changes nothing.
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { prepareNamespace } from '../infra/temporal-namespace';
import { waitForTemporal } from '../infra/temporal';

async function main() {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS 未设置 (not set)');
  await waitForTemporal(config.TEMPORAL_ADDRESS, 120_000);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await prepareNamespace(connection, config.TEMPORAL_NAMESPACE, { log: (m) => console.log(`[temporal-setup] ${m}`) });
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error('[temporal-setup] failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
