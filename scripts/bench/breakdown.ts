// Where the commits and the statements go, per request kind: pg_stat_statements and pg_stat_database read around
// a few sequential requests of one kind at a time (mail and other work they cause included: the counters are read
// after the mail queue has drained). Statements inside server-side functions count too (track = all); `topLevel`
// counts only those a client sent, one round trip each. Needs pg_stat_statements preloaded (the bench's embedded Postgres has it).
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
    top: { calls: number; query: string }[];
  }[] = [];
  for (const k of o.kinds) {
    await o.settle();
    await query(o.adminUrl, 'select pg_stat_statements_reset()');
    const c0 = await commits();
    for (let i = 0; i < o.times; i++) await k.run(i);
    await o.settle();
    const c1 = await commits();
    const rows = await query<{ calls: string; query: string; toplevel: boolean }>(
      o.adminUrl,
      `select s.calls::text as calls, s.query, s.toplevel from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where d.datname = $1 order by s.calls desc`,
      [o.db],
    );
    const statements = rows.reduce((n, r) => n + Number(r.calls), 0) / o.times;
    const topLevel = rows.reduce((n, r) => n + (r.toplevel ? Number(r.calls) : 0), 0) / o.times;
    const top = rows
      .slice(0, 8)
      .map((r) => ({ calls: Number(r.calls) / o.times, query: r.query.replace(/\s+/g, ' ').slice(0, 140) }));
    out.push({ kind: k.name, commits: (c1 - c0) / o.times, statements, topLevel, top });
    o.log(
      `${k.name}: ${((c1 - c0) / o.times).toFixed(1)} commits, ${statements.toFixed(1)} statements per request ` +
        `(${topLevel.toFixed(1)} sent by clients, the rest inside server-side functions)`,
    );
    for (const t of top) o.log(`    ${t.calls.toFixed(1)} × ${t.query}`);
  }
  return out;
}
