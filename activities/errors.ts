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
