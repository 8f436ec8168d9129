// Figures for README's sizing, measured on the production topology (`npm run test:production -- --measure`): bytes
// per case in each database, and decisions per second with the CPU each kind of process spent per decision — the
// machine is shared, so CPU-seconds per decision are the figure that carries over to other machines.
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';

/** Database sizes in bytes (pg_database_size), by name. */
export async function databaseSizes(adminUrl: string, names: string[]): Promise<Record<string, number>> {
  const c = new PgClient({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query('checkpoint');
    const out: Record<string, number> = {};
    for (const n of names) {
      out[n] = Number((await c.query(`select pg_database_size($1) s`, [n])).rows[0].s);
    }
    return out;
  } finally {
    await c.end();
  }
}

/** Bytes per case: the growth of each database while `drive` takes `cases` transfers through every stage. */
export async function measureBytesPerCase(opts: {
  adminUrl: string;
  cases: number;
  drive: (cases: number) => Promise<void>;
  say: (m: string) => void;
}): Promise<string[]> {
  const names = ['xueji', 'temporal', 'temporal_visibility'];
  const before = await databaseSizes(opts.adminUrl, names);
  opts.say(`bytes per case: ${opts.cases} transfers through all four stages…`);
  await opts.drive(opts.cases);
  // Let the last projections and mails land before measuring.
  await new Promise((r) => setTimeout(r, 3000));
  const after = await databaseSizes(opts.adminUrl, names);
  return names.map((n) => {
    const per = (after[n] - before[n]) / opts.cases;
    return `bytes per approved transfer in ${n}: ${Math.round(per).toLocaleString('en')} (${opts.cases} cases, pg_database_size growth)`;
  });
}

/** utime + stime of a process and all its threads, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** A Postgres server's processes: the postmaster (from postmaster.pid) and its children. */
export function postgresPids(dataDir: string): number[] {
  return withChildren(Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]));
}

/** A process and its direct children (nginx's workers, Postgres's backends). */
export function withChildren(master: number): number[] {
  const kids = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [master, ...kids];
}

export interface ProcessGroup {
  name: string;
  pids: () => number[];
}

/**
 * Runs `drive` (which returns the decisions it made) and reports decisions per second and the CPU-seconds each group
 * of processes spent per decision.
 */
export async function measureThroughput(opts: {
  label: string;
  groups: ProcessGroup[];
  drive: () => Promise<number>;
}): Promise<string[]> {
  const cpu = () =>
    Object.fromEntries(opts.groups.map((g) => [g.name, g.pids().reduce((t, p) => t + cpuSeconds(p), 0)]));
  const c0 = cpu();
  const t0 = Date.now();
  const decisions = await opts.drive();
  const secs = (Date.now() - t0) / 1000;
  const c1 = cpu();
  const perDecision = opts.groups
    .map((g) => `${g.name} ${(((c1[g.name] - c0[g.name]) / decisions) * 1000).toFixed(1)} ms`)
    .join(', ');
  return [
    `${opts.label}: ${decisions} decisions in ${secs.toFixed(1)} s = ${(decisions / secs).toFixed(1)} decisions/s`,
    `  CPU per decision: ${perDecision}`,
  ];
}
