/** `jobvisor/sqlite`: the durable store on one local SQLite file (better-sqlite3). */
export { sqliteStore } from './store/sqlite.js';
export type { SqliteStoreOptions } from './store/sqlite.js';
