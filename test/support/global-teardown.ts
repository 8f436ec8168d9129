import fs from 'node:fs';

export default async function globalTeardown() {
  const stops = (globalThis as { __xuejiStops?: (() => Promise<void>)[] }).__xuejiStops ?? [];
  for (const stop of stops.reverse()) await stop().catch((e) => console.error(e));
  if (process.env.TEST_WORK_DIR) fs.rmSync(process.env.TEST_WORK_DIR, { recursive: true, force: true });
}
