/**
 * The SQLite file of the durable store: its schema migrations, the checks that refuse a file
 * jobvisor did not write (or a newer jobvisor wrote), and the mapping of SQLite errors to codes.
 * Nothing here writes to a file before it has been recognised as jobvisor's (or as empty).
 */
import type Database from 'better-sqlite3';
import { JobvisorError, type ErrorCode } from '../common/errors.js';

/** A job row that is pending or running, and one that is finished (SQL conditions). */
export const LIVE = `status IN ('pending', 'running')`;
export const FINISHED = `status NOT IN ('pending', 'running')`;

/** `PRAGMA application_id` of every jobvisor database: "JOBV" in ASCII. */
export const APPLICATION_ID = 0x4a4f4256;

/** Migration `i` brings the schema from version `i` to `i + 1` (`PRAGMA user_version`). */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta (name, value) VALUES ('last_offset', 0);
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    key TEXT,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    seq INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    record TEXT NOT NULL
  );
  CREATE UNIQUE INDEX jobs_live_key ON jobs (key)
    WHERE key IS NOT NULL AND status IN ('pending', 'running');
  CREATE INDEX jobs_created ON jobs (created_at, id);
  CREATE INDEX jobs_status_created ON jobs (status, created_at, id);
  CREATE INDEX jobs_type_created ON jobs (type, created_at, id);
  CREATE INDEX jobs_key_created ON jobs (key, created_at, id) WHERE key IS NOT NULL;
  CREATE INDEX jobs_finished ON jobs (COALESCE(finished_at, 0), id)
    WHERE status NOT IN ('pending', 'running');
  CREATE TABLE changes (
    "offset" INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  `,
  // 2: the change history of one job (GET /jobs/:id/changes) without a scan of the log.
  `CREATE INDEX changes_job ON changes (job_id, "offset");`,
  // 3: pauses that outlive the process: a job type's name, or `*` for the whole supervisor.
  `CREATE TABLE paused (scope TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;`,
  // 4: repeatable jobs' schedules: the definition (JSON) and the latest occurrence taken.
  `CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    last_at INTEGER,
    last_job TEXT,
    taken_at INTEGER,
    started INTEGER NOT NULL DEFAULT 1
  ) WITHOUT ROWID;`,
  // 5: jobs' logs (ctx.log): ids never given twice, read per job in id order.
  `CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    message TEXT NOT NULL,
    data TEXT
  );
  CREATE INDEX job_logs_job ON job_logs (job_id, id);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Recognises the file, then (only then) switches it to WAL and applies pending migrations in one
 * transaction. Throws `store_corrupt` for a foreign or damaged file and
 * `store_version_unsupported` for a newer schema, leaving such files untouched.
 */
export function prepareSchema(db: Database.Database, path: string): void {
  // Reads only: the application id, the schema version and whether the file holds any table.
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const objects = (db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n;
  const blank = appId === 0 && version === 0 && objects === 0;
  if (!blank && appId !== APPLICATION_ID) {
    throw new JobvisorError('store_corrupt', `${path} is an SQLite database, but not a jobvisor one`, {
      applicationId: appId,
    });
  }
  if (version > SCHEMA_VERSION) {
    throw new JobvisorError(
      'store_version_unsupported',
      `${path} has schema version ${version}; this jobvisor knows up to ${SCHEMA_VERSION}`,
      { version, supported: SCHEMA_VERSION },
    );
  }
  if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') {
    throw new JobvisorError('store_unavailable', `${path}: cannot switch the database to WAL mode`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (const sql of MIGRATIONS.slice(version)) db.exec(sql);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.pragma(`application_id = ${APPLICATION_ID}`);
  }).immediate();
}

const CODES: readonly (readonly [prefix: string, code: ErrorCode])[] = [
  // A live key or a job id already taken; other constraint failures are bugs (internal_error).
  ['SQLITE_CONSTRAINT_UNIQUE', 'store_conflict'],
  ['SQLITE_CONSTRAINT_PRIMARYKEY', 'store_conflict'],
  ['SQLITE_BUSY', 'store_locked'],
  ['SQLITE_LOCKED', 'store_locked'],
  ['SQLITE_CORRUPT', 'store_corrupt'],
  ['SQLITE_NOTADB', 'store_corrupt'],
  ['SQLITE_FULL', 'store_unavailable'],
  ['SQLITE_IOERR', 'store_unavailable'],
  ['SQLITE_READONLY', 'store_unavailable'],
  ['SQLITE_CANTOPEN', 'store_unavailable'],
  ['SQLITE_PERM', 'store_unavailable'],
  ['SQLITE_NOLFS', 'store_unavailable'],
];

/** Turns whatever SQLite (or the file system) threw into a coded `JobvisorError`. */
export function toStoreError(error: unknown, doing: string): JobvisorError {
  if (error instanceof JobvisorError) return error;
  const sqlite = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof sqlite === 'string') {
    const code = sqlite.startsWith('SQLITE_')
      ? (CODES.find(([prefix]) => sqlite.startsWith(prefix))?.[1] ?? 'internal_error')
      : 'store_unavailable'; // a file-system error such as ENOTDIR, EACCES or ENOSPC
    return new JobvisorError(code, `SQLite store: ${doing}: ${message}`, { cause: sqlite });
  }
  return new JobvisorError('internal_error', `SQLite store: ${doing}: ${message}`);
}
