// Where the commits, the statements and the CPU go, per request kind: pg_stat_statements and pg_stat_database read
// around a few sequential requests of one kind at a time (mail and other work they cause included: the counters are
// read after the mail queue has drained), with Postgres's time executing them and the app process's CPU (its idle
// background work taken out). Statements inside server-side functions count too (track = all); `topLevel` counts
// only those a client sent, one round trip each. Needs pg_stat_statements preloaded (the bench's embedded Postgres
// has it).
import { query } from './stack';

export interface Kind {
  name: string;
  /** Runs one request of this kind (`i` counts from 0). */
  run(i: number): Promise<unknown>;
}

export async function breakdown(o: {
  adminUrl: string;
  db: string;
  kinds: Kind[];
  times: number;
  settle: () => Promise<void>;
  /** CPU seconds the system under test has used so far (the app process: its API, worker and mail dispatcher). */
  cpu: () => number;
  log: (m: string) => void;
}) {
  await query(o.adminUrl, 'create extension if not exists pg_stat_statements');
  const commits = async () =>
    Number(
      (
        await query<{ c: string }>(
          o.adminUrl,
          'select xact_commit::text as c from pg_stat_database where datname = $1',
          [o.db],
        )
      )[0].c,
    );
  const out: {
    kind: string;
    commits: number;
    statements: number;
    /** Statements sent by a client (round trips); `statements` also counts those run inside server-side functions. */
    topLevel: number;
    /** The app process's CPU per request (ms), the work it caused included (workflow task, mail). */
    cpuMs: number;
    /** Postgres's time executing them (ms; planning not counted), and the statements taking most of it. */
    ms: number;
    top: { calls: number; ms: number; query: string }[];
  }[] = [];
  const now = () => performance.now() / 1000;
  for (const k of o.kinds) {
    // The process's background work (pollers, timers) while idle, taken out of the request's CPU below.
    const idle0 = [o.cpu(), now()];
    await o.settle();
    const idleRate = (o.cpu() - idle0[0]) / (now() - idle0[1]);
    await query(o.adminUrl, 'select pg_stat_statements_reset()');
    const c0 = await commits();
    const [cpu0, t0] = [o.cpu(), now()];
    for (let i = 0; i < o.times; i++) await k.run(i);
    await o.settle();
    const c1 = await commits();
    const cpuMs = ((o.cpu() - cpu0 - idleRate * (now() - t0)) * 1000) / o.times;
    const rows = await query<{ calls: string; query: string; toplevel: boolean; ms: number }>(
      o.adminUrl,
      `select s.calls::text as calls, s.query, s.toplevel, s.total_exec_time as ms
         from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where d.datname = $1 order by s.total_exec_time desc`,
      [o.db],
    );
    const statements = rows.reduce((n, r) => n + Number(r.calls), 0) / o.times;
    const topLevel = rows.reduce((n, r) => n + (r.toplevel ? Number(r.calls) : 0), 0) / o.times;
    // Top-level statements only: a function's time already holds the statements run inside it.
    const ms = rows.reduce((n, r) => n + (r.toplevel ? Number(r.ms) : 0), 0) / o.times;
    const top = rows.slice(0, 8).map((r) => ({
      calls: Number(r.calls) / o.times,
      ms: Number(r.ms) / o.times,
      query: r.query.replace(/\s+/g, ' ').slice(0, 140),
    }));
    out.push({ kind: k.name, commits: (c1 - c0) / o.times, statements, topLevel, cpuMs, ms, top });
    o.log(
      `${k.name}: ${((c1 - c0) / o.times).toFixed(1)} commits, ${statements.toFixed(1)} statements per request ` +
        `(${topLevel.toFixed(1)} sent by clients, the rest inside server-side functions), ${ms.toFixed(2)} ms executing in Postgres, ` +
        `${cpuMs.toFixed(1)} ms of the app's CPU`,
    );
    for (const t of top) o.log(`    ${t.ms.toFixed(2)} ms, ${t.calls.toFixed(1)} × ${t.query}`);
  }
  return out;
}
