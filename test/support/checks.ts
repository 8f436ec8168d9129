// A named list of checks for the whole-system scripts (test:production, test:backup): each passes or fails with a
// reason, a failure never stops the run, and the last line printed is `N passed, M failed` (exit code 1 on any).

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export class Checks {
  readonly results: CheckResult[] = [];

  constructor(private readonly print: (line: string) => void = console.log) {}

  /** Runs `fn`; a thrown error (or a false `expect`) fails the check. Its return value is shown beside the name. */
  async check(name: string, fn: () => unknown): Promise<boolean> {
    try {
      const detail = await fn();
      this.results.push({ name, ok: true, detail: detail === undefined ? '' : String(detail) });
      this.print(`  ✓ ${name}${detail === undefined ? '' : ` — ${String(detail)}`}`);
      return true;
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      this.results.push({ name, ok: false, detail });
      this.print(`  ✗ ${name} — ${detail}`);
      return false;
    }
  }

  /** A check that failed because its step never ran (an earlier step broke). */
  skipped(name: string, why: string) {
    this.results.push({ name, ok: false, detail: `not run: ${why}` });
    this.print(`  ✗ ${name} — not run: ${why}`);
  }

  get failed(): number {
    return this.results.filter((r) => !r.ok).length;
  }

  /** The summary; its last line is `N passed, M failed`. Returns the exit code. */
  finish(): number {
    const failed = this.results.filter((r) => !r.ok);
    if (failed.length) {
      this.print('');
      this.print('Failed:');
      for (const f of failed) this.print(`  ✗ ${f.name} — ${f.detail}`);
    }
    this.print('');
    this.print(`${this.results.length - failed.length} passed, ${failed.length} failed`);
    return failed.length ? 1 : 0;
  }
}

/** Throws with `message` unless `cond` holds (checks read better than nested ifs). */
export function expectThat(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}
