// The list a reviewer is working through (待办, or a filtered list), so the case page can offer the
// previous and next case (J / K) without going back to the list.
const KEY = 'xueji.queue';

export interface Queue {
  ids: number[];
  from: string;
  label: string;
}

export function saveQueue(q: Queue) {
  sessionStorage.setItem(KEY, JSON.stringify(q));
}

export function neighbours(
  id: number,
): { prev: number | null; next: number | null; pos: number; total: number; from: string; label: string } | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const q = JSON.parse(raw) as Queue;
  const i = q.ids.indexOf(id);
  if (i < 0) return null;
  return {
    prev: i > 0 ? q.ids[i - 1] : null,
    next: i < q.ids.length - 1 ? q.ids[i + 1] : null,
    pos: i + 1,
    total: q.ids.length,
    from: q.from,
    label: q.label,
  };
}

/** True when a key press is meant for a field, not for a page shortcut. */
export const typingInto = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

/**
 * J/K (and ↓/↑) move the focus through the links of a list, Enter opens one: many cases or pupils in a row
 * without the mouse. Returns the handler for the list's container.
 */
export function useListKeys(container: { current: HTMLElement | null }, selector: string) {
  return (e: {
    key: string;
    target: EventTarget | null;
    ctrlKey: boolean;
    metaKey: boolean;
    altKey: boolean;
    preventDefault(): void;
  }) => {
    if (typingInto(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    const rows = [...(container.current?.querySelectorAll<HTMLAnchorElement>(selector) ?? [])];
    const i = rows.indexOf(document.activeElement as HTMLAnchorElement);
    const go = (j: number) => rows[Math.max(0, Math.min(rows.length - 1, j))]?.focus();
    if (e.key === 'j' || e.key === 'ArrowDown') {
      e.preventDefault();
      go(i + 1);
    } else if (e.key === 'k' || e.key === 'ArrowUp') {
      e.preventDefault();
      go(i - 1);
    }
  };
}
