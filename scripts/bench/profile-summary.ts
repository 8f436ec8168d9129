// Summarises a V8 .cpuprofile by where the time was spent: self time per package (node_modules/<name>), per
// project folder, and Node's own internals. `npx tsx scripts/bench/profile-summary.ts FILE.cpuprofile`.
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
const prof = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));

const bucket = (url: string, fn: string): string => {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const m = /\/(api|activities|workflows|infra|domain|scripts|generated)\//.exec(url);
  return m ? `project ${m[1]}/` : url.replace(/^.*\//, '');
};
const totals = new Map<string, number>();
const fns = new Map<string, number>();
let all = 0;
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const b = bucket(n.callFrame.url, n.callFrame.functionName);
  totals.set(b, (totals.get(b) ?? 0) + t);
  const f = `${b} ${n.callFrame.functionName || '(anonymous)'}`;
  fns.set(f, (fns.get(f) ?? 0) + t);
  all += t;
}
const top = (m: Map<string, number>, k: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, t]) => `${((100 * t) / all).toFixed(1).padStart(5)}%  ${name}`);
console.log(`total sampled ${(all / 1e6).toFixed(2)} s`);
console.log('by package / folder:\n' + top(totals, 25).join('\n'));
console.log('\nby function:\n' + top(fns, 25).join('\n'));
