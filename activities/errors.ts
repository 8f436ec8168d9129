// Named errors are the retry contract: the SDK uses the class name as the failure type, and the
// workflow lists these names in nonRetryableErrorTypes. Renaming one changes retries.

/** The application row is gone (e.g. the demo data was re-seeded): retrying cannot help. */
export class ApplicationMissingError extends Error {
  constructor(applicationId: number) {
    super(`application ${applicationId} does not exist`);
    this.name = 'ApplicationMissingError';
  }
}

/** The read model contradicts the workflow (a bug, not a transient fault). */
export class InvariantViolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolationError';
  }
}

/**
 * Text stored with a case breaks the free-text rule (domain/text.ts) — a value that got past the API, from an old
 * row or an import. Retryable on purpose: the activity keeps failing, visibly (the stuck view shows the field), until
 * an administrator's repair (POST /api/admin/applications/:id/repair) redacts the field; the next attempt succeeds.
 */
export class DirtyTextError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`字段 ${field} ${problem}：请管理员在“在办与超期”中修复该业务 (stored text refused: ${field})`);
    this.name = 'DirtyTextError';
  }
}
