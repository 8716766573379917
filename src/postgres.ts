/** `jobvisor/postgres`: the durable store on a PostgreSQL schema (node-postgres). */
export { postgresStore } from './store/postgres.js';
export type { PostgresStoreOptions } from './store/postgres.js';
