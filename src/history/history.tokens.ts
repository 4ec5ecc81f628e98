/** DI token of the `HistoryStore` (in-memory here; issue 5 binds a Redis one for clusters). */
export const HISTORY_STORE = Symbol('HISTORY_STORE');
