// Replays every recorded history in workflows/__histories__ on the current workflow code and fails on
// the first determinism error. `npm run replay`; the test suite runs it too (test/replay.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';

const DIR = path.resolve(__dirname, '..', 'workflows', '__histories__');

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const bundle = process.env.TEST_WORKFLOW_BUNDLE
    ? { codePath: process.env.TEST_WORKFLOW_BUNDLE }
    : await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('ERROR') });
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
  if (files.length === 0) throw new Error(`no histories in ${DIR}`);
  for (const file of files) {
    const history = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, file);
    console.log(`replayed ${file}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
