// The in-memory resource database (Store, and what its methods return) and the single-process
// Backend built on it.
export { InmemBackend, type InmemBackendOptions } from "./inmem-backend.js";
export { checkQuota, validateQuotaBytes } from "./quota.js";
export type { Restoration } from "./restoration.js";
export { Store, type StoreOptions } from "./store.js";
export type { StoreSnapshot } from "./store-snapshot.js";
export type { StoreView } from "./store-view.js";
export type { StoreWatch } from "./store-watch.js";
export { RECORD_OVERHEAD_BYTES } from "./tables.js";
