// What the operating system says about processes: CPU seconds and resident memory, read from /proc (Linux).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid: number): string[] | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) a process has used so far, plus those of its children that have ended (the kernel
 * adds a reaped child's time to its parent's cutime/cstime); 0 when it is gone.
 */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/** Resident set size in MB (VmRSS). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process and each of its descendants, by pid and name (nothing hides in a child). */
export function treeRss(root: number): { pid: number; name: string; rssMb: number }[] {
  return processTree(root).map((pid) => {
    let name = '?';
    try {
      name = /Name:\s+(\S+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
    } catch {
      // gone meanwhile
    }
    return { pid, name, rssMb: rssMb(pid) };
  });
}

/** A process and all its descendants (e.g. a postmaster and its backends). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (!f) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU seconds of a set of process trees, summed (a backend that ended counts in its postmaster's cutime). */
export function treeCpuSeconds(roots: number[]): number {
  let total = 0;
  for (const r of roots) for (const pid of processTree(r)) total += cpuSeconds(pid);
  return total;
}

/** The postmaster's pid from a data directory's postmaster.pid. */
export function postmasterPid(dataDir: string): number | null {
  try {
    return Number(fs.readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}

/** The whole machine's CPU time so far, busy and in all, in seconds summed over its cores (/proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  try {
    const first = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // cpu  user nice system idle iowait irq softirq steal …
    const t = first.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    return { busy: (total - t[3] - t[4]) / CLK_TCK, total: total / CLK_TCK };
  } catch {
    return { busy: NaN, total: NaN };
  }
}
