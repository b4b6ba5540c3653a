// Cursor paging for the board (posts, comments): pages appended in order, an item seen
// twice (a new post pushed the list down between two pages) kept once.

export interface Paged<T> {
  items: T[];
  /** The cursor for the next page; null once the end is reached. */
  cursor: string | null;
  /** True once the end is known (the API gave no next cursor). */
  done: boolean;
  loading: boolean;
}

export const emptyPaged = <T>(): Paged<T> => ({ items: [], cursor: null, done: false, loading: false });

/** Whether another page should be asked for now. */
export const canLoadMore = <T>(state: Paged<T>): boolean => !state.done && !state.loading;

export const startLoading = <T>(state: Paged<T>): Paged<T> => ({ ...state, loading: true });

/** A page arrived: its items after the ones shown (duplicates by key dropped). */
export function addPage<T>(
  state: Paged<T>,
  page: { items: readonly T[]; next_cursor: string | null },
  keyOf: (item: T) => string,
): Paged<T> {
  const seen = new Set(state.items.map(keyOf));
  const fresh = page.items.filter((item) => {
    const key = keyOf(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const cursor = page.next_cursor || null;
  // A page with a cursor but nothing new would loop forever: treat it as the end.
  const done = cursor === null || (fresh.length === 0 && page.items.length > 0 && cursor === state.cursor);
  return { items: [...state.items, ...fresh], cursor, done, loading: false };
}

/** A page failed: stop loading, keep what is shown, allow another try. */
export const pageFailed = <T>(state: Paged<T>): Paged<T> => ({ ...state, loading: false });
