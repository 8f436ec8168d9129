import { freePortInRange } from '../../infra/ports';

const taken = new Set<number>();

/**
 * A port that was free a moment ago, below the kernel's ephemeral range (see infra/ports.ts): a Temporal dev server
 * started after the choice cannot take it for one of its internal services.
 */
export function freePort(): Promise<number> {
  return freePortInRange(20_000, 32_767, taken);
}
