// The namespace and search attributes our workflows need on a Temporal cluster. The dev server gets both from its
// command line; a real cluster gets them once, from a one-shot job (`node dist/scripts/temporal-setup.js`, the
// `temporal-setup` service in docker-compose.yml), so that worker replicas never race to register them.
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';

/** How long Temporal keeps the history of a closed case's workflow (the case itself stays in Postgres). */
export const WORKFLOW_RETENTION_DAYS = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isAlreadyExists = (e: unknown) =>
  /already (exists|registered)/i.test(String((e as Error)?.message ?? e)) || (e as { code?: number })?.code === 6;

/** The search attributes we define that the namespace does not have yet. */
export async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  return SEARCH_ATTRIBUTES.filter((sa) => !have.has(sa.name)).map((sa) => sa.name);
}

/** Registers our search attributes where missing; a concurrent registration of the same name is no error. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { IndexedValueType } = temporal.api.enums.v1;
  const missing = new Set(await missingSearchAttributes(connection, namespace));
  if (missing.size === 0) return;
  const type = (t: string) =>
    t === 'BOOL' ? IndexedValueType.INDEXED_VALUE_TYPE_BOOL : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        SEARCH_ATTRIBUTES.filter((sa) => missing.has(sa.name)).map((sa) => [sa.name, type(sa.type)]),
      ),
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/**
 * A fresh cluster (temporal-sql-tool only creates the tables) has no namespace: register it, then the search
 * attributes. The frontend learns of a new namespace only when it refreshes its namespace cache (about 10 s), so
 * both steps are retried until they go through or `timeoutMs` passes. Safe to run again and again.
 */
export async function prepareNamespace(
  connection: Connection,
  namespace: string,
  opts: { timeoutMs?: number; log?: (m: string) => void } = {},
): Promise<{ registered: boolean }> {
  const log = opts.log ?? (() => undefined);
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let registered = false;
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(WORKFLOW_RETENTION_DAYS * 86_400_000),
        description: '学籍异动 approval workflows',
      });
      registered = true;
      log(`namespace ${namespace} registered (retention ${WORKFLOW_RETENTION_DAYS} days)`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  for (;;) {
    try {
      await ensureSearchAttributes(connection, namespace);
      const missing = await missingSearchAttributes(connection, namespace);
      if (missing.length === 0) break;
      throw new Error(`search attributes not visible yet: ${missing.join(', ')}`);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(1000);
    }
  }
  log(`search attributes ready: ${SEARCH_ATTRIBUTES.map((sa) => sa.name).join(', ')}`);
  return { registered };
}
