import fs from 'node:fs';
import type { z } from 'zod';

/**
 * Reads one settings file (settings/*.json or the file its variable names) against its schema. A file that is not
 * JSON, or an entry the schema refuses, stops start-up with the file and each bad entry named (`TRANSFER.2.code: …`);
 * `what` names the file for the administrator, Chinese first.
 */
export function readSettingsFile<S extends z.ZodType>(file: string, schema: S, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new Error(`${what} ${file}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
