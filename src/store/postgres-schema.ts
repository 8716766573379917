/**
 * The PostgreSQL schema of the store: its migrations, applied exactly once however many nodes
 * start at the same moment (under an advisory lock, in one transaction), the refusal of a schema
 * a newer jobvisor wrote, and the mapping of PostgreSQL errors to codes.
 */
import type pg from 'pg';
import { JobvisorError, type ErrorCode } from '../common/errors.js';
import { commitFunction } from './postgres-commit.js';

/**
 * `claim_jobs` (see migrations 3, 4 and 5): one claimer at a time, then the claimable jobs in queue
 * order — by offset (3), or by priority, higher first, then offset (4) — of types not paused (5),
 * within the cluster-wide and per-type limits, owned by the node.
 */
function claimJobs(
  create: 'CREATE' | 'CREATE OR REPLACE',
  { byPriority, pauses }: { readonly byPriority: boolean; readonly pauses: boolean },
): string {
  const cols = byPriority ? 'j.priority, ' : '';
  const notPaused = pauses
    ? `
          AND NOT EXISTS (SELECT 1 FROM $S.paused p WHERE p.scope = j.type OR p.scope = '*')`
    : '';
  const order = (t: string) => (byPriority ? `${t}.priority DESC, ${t}."offset"` : `${t}."offset"`);
  return `
  ${create} FUNCTION $S.claim_jobs(p_node text, p_max int, p_types text[], p_limits int[], p_concurrency int)
  RETURNS TABLE (claimed_id text, claimed_record text, claimed_offset bigint)
  LANGUAGE plpgsql VOLATILE AS $fn$
  DECLARE
    v_free int;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobvisor:claim:$S'));
    SELECT least(p_max, p_concurrency - count(*))::int INTO v_free
      FROM $S.jobs j WHERE j.owner IS NOT NULL AND j.status IN ('pending', 'running');
    IF v_free <= 0 THEN
      RETURN;
    END IF;
    RETURN QUERY
      WITH busy AS (
        SELECT j.type, count(*)::int AS n FROM $S.jobs j
        WHERE j.owner IS NOT NULL AND j.status IN ('pending', 'running') GROUP BY j.type
      ), candidates AS (
        SELECT j.id, j.type, ${cols}j."offset" FROM $S.jobs j
        WHERE j.status = 'pending' AND j.owner IS NULL AND j.type = ANY(p_types)
          AND (j.retry_at IS NULL OR j.retry_at <= (extract(epoch FROM now()) * 1000)::float8)${notPaused}
        ORDER BY ${order('j')} LIMIT greatest(v_free * 4, 32) FOR UPDATE SKIP LOCKED
      ), ranked AS (
        SELECT c.id, c.type, ${cols.replaceAll('j.', 'c.')}c."offset",
               row_number() OVER (PARTITION BY c.type ORDER BY ${order('c')}) AS rn
        FROM candidates c
      ), chosen AS (
        SELECT r.id FROM ranked r
          JOIN unnest(p_types, p_limits) AS l(type, n) ON l.type = r.type
          LEFT JOIN busy b ON b.type = r.type
        WHERE r.rn + coalesce(b.n, 0) <= l.n
        ORDER BY ${order('r')} LIMIT v_free
      )
      UPDATE $S.jobs j SET owner = p_node FROM chosen WHERE j.id = chosen.id
      RETURNING j.id, j.record, j."offset";
  END
  $fn$;
  `;
}

/** Migration `i` brings the schema from version `i` to `i + 1`; `$S` stands for the schema's name. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE $S.log_head (id int PRIMARY KEY CHECK (id = 1), last bigint NOT NULL);
  INSERT INTO $S.log_head (id, last) VALUES (1, 0);
  CREATE TABLE $S.jobs (
    id text COLLATE "C" PRIMARY KEY,
    type text COLLATE "C" NOT NULL,
    key text COLLATE "C",
    status text NOT NULL,
    state text NOT NULL,
    seq integer NOT NULL,
    "offset" bigint NOT NULL,
    created_at bigint NOT NULL,
    finished_at bigint,
    record text NOT NULL
  );
  CREATE UNIQUE INDEX jobs_live_key ON $S.jobs (key)
    WHERE key IS NOT NULL AND status IN ('pending', 'running');
  CREATE INDEX jobs_created ON $S.jobs (created_at, id);
  CREATE INDEX jobs_status_created ON $S.jobs (status, created_at, id);
  CREATE INDEX jobs_type_created ON $S.jobs (type, created_at, id);
  CREATE INDEX jobs_key_created ON $S.jobs (key, created_at, id) WHERE key IS NOT NULL;
  CREATE INDEX jobs_live_offset ON $S.jobs ("offset") WHERE status IN ('pending', 'running');
  CREATE INDEX jobs_finished ON $S.jobs (COALESCE(finished_at, 0), id)
    WHERE status NOT IN ('pending', 'running');
  CREATE TABLE $S.changes (
    "offset" bigint PRIMARY KEY,
    job_id text COLLATE "C" NOT NULL,
    seq integer NOT NULL,
    kind text NOT NULL,
    at bigint NOT NULL,
    record text NOT NULL
  );
  CREATE INDEX changes_job ON $S.changes (job_id, "offset");
  CREATE INDEX changes_at ON $S.changes (at, "offset");
  `,
  // 2: several nodes: who owns a job (claimed or running), when a job waiting to retry may be
  // claimed, a cancellation asked by another node, and the nodes with their leases.
  `
  ALTER TABLE $S.jobs ADD COLUMN owner text COLLATE "C";
  ALTER TABLE $S.jobs ADD COLUMN retry_at bigint;
  ALTER TABLE $S.jobs ADD COLUMN cancel_requested text;
  CREATE INDEX jobs_claimable ON $S.jobs ("offset") WHERE status = 'pending' AND owner IS NULL;
  CREATE INDEX jobs_owner ON $S.jobs (owner) WHERE owner IS NOT NULL;
  CREATE TABLE $S.nodes (
    id text COLLATE "C" PRIMARY KEY,
    label text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL
  );
  `,
  // 3: a claim in one round trip. One claimer at a time (the advisory lock, the same key as the
  // claims of version 2), then each statement takes its snapshot after the lock: the count of what
  // runs, then the oldest claimable jobs within the cluster-wide and per-type limits (a candidate
  // of a type is taken if its rank among its type's candidates plus that type's running attempts
  // stays within the type's limit), first `free` of them in queue order, owned by the node.
  `
  ` +
    claimJobs('CREATE', { byPriority: false, pauses: false }) +
    `
  `,
  // 4: priorities. A job's priority (fixed at creation: the commit function writes it with the
  // job's row; 0 for the jobs already there, made before priorities) in a column of its own, and
  // claims in priority order (higher first), then queue order, through an index in that order.
  `
  ALTER TABLE $S.jobs ADD COLUMN priority integer NOT NULL DEFAULT 0;
  DROP INDEX $S.jobs_claimable;
  CREATE INDEX jobs_claimable ON $S.jobs (priority DESC, "offset") WHERE status = 'pending' AND owner IS NULL;
  ` +
    claimJobs('CREATE OR REPLACE', { byPriority: true, pauses: false }) +
    `
  `,
  // 5: pauses that outlive the processes (a job type's name, or `*` for every type): claims skip
  // the jobs of a paused type, so no node starts them while the pause holds.
  `
  CREATE TABLE $S.paused (scope text COLLATE "C" PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
  ` +
    claimJobs('CREATE OR REPLACE', { byPriority: true, pauses: true }) +
    `
  `,
  // 6: repeatable jobs' schedules: the definition and the latest occurrence taken, which one
  // compare-and-set moves (so one node takes each occurrence).
  `
  CREATE TABLE $S.schedules (
    name text COLLATE "C" PRIMARY KEY,
    spec jsonb NOT NULL,
    last_at int8,
    last_job text,
    taken_at int8,
    started boolean NOT NULL DEFAULT true
  );
  `,
  // 7: jobs' logs (ctx.log), read per job in id order; written by the node running the job.
  `
  CREATE TABLE $S.job_logs (
    id bigserial PRIMARY KEY,
    job_id text COLLATE "C" NOT NULL,
    attempt int NOT NULL,
    at int8 NOT NULL,
    message text NOT NULL,
    data jsonb
  );
  CREATE INDEX job_logs_job ON $S.job_logs (job_id, id);
  `,
];

/** The channel a schema's events go out on (NOTIFY): at most 63 bytes. */
export function channelOf(schema: string): string {
  return `jobvisor_${schema}`.slice(0, 63);
}

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** A schema name that needs no quoting: letters, digits, underscores. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates the schema if needed and applies the migrations it lacks, once: concurrent callers wait
 * on an advisory lock and find the work done. Refuses a schema from a newer jobvisor.
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  const lock = `jobvisor:migrate:${schema}`;
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
  try {
    await client.query('BEGIN');
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${schema}.migrations`,
    );
    const version = rows[0]?.version ?? 0;
    if (version > PG_SCHEMA_VERSION) {
      throw new JobvisorError(
        'store_version_unsupported',
        `PostgreSQL schema ${schema} has version ${version}; this jobvisor knows up to ${PG_SCHEMA_VERSION}`,
        { version, supported: PG_SCHEMA_VERSION },
      );
    }
    for (let v = version; v < PG_SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v]!.replaceAll('$S', schema));
      await client.query(`INSERT INTO ${schema}.migrations (version) VALUES ($1)`, [v + 1]);
    }
    // The commit function is this version's: made (or made again) at every open, under its versioned
    // name, so that it always matches this code (postgres-commit.ts).
    await client.query(commitFunction(schema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lock]).catch(() => undefined);
  }
}

/** SQLSTATE classes and codes → our codes; anything unknown is internal. */
const CODES: readonly (readonly [prefix: string, code: ErrorCode])[] = [
  ['23505', 'store_conflict'], // unique_violation
  ['40001', 'store_unavailable'], // serialization_failure: retried
  ['40P01', 'store_unavailable'], // deadlock_detected: retried
  ['53', 'store_unavailable'], // insufficient resources (disk full, too many connections)
  ['57', 'store_unavailable'], // operator intervention (shutdown, query canceled by timeout)
  ['08', 'store_unavailable'], // connection exceptions
  ['58', 'store_unavailable'], // system error (I/O)
  ['3D', 'store_unavailable'], // the database does not exist
  ['28', 'store_unavailable'], // authorization
  ['42', 'store_corrupt'], // a table or column jobvisor expects is missing: not its schema
];

/** Node's own network errors: the database is not reachable now. */
const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/;

/** Turns whatever PostgreSQL or node-postgres threw into a coded `JobvisorError`. */
export function toStoreError(error: unknown, doing: string): JobvisorError {
  if (error instanceof JobvisorError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const text = `PostgreSQL store: ${doing}: ${message}`;
  if (typeof code === 'string' && NETWORK.test(code))
    return new JobvisorError('store_unavailable', text, { cause: code });
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const mapped = CODES.find(([prefix]) => code.startsWith(prefix))?.[1] ?? 'internal_error';
    return new JobvisorError(mapped, text, { cause: code });
  }
  // node-postgres' own timeouts and a connection that ended.
  if (/timeout|terminat|Connection/i.test(message)) return new JobvisorError('store_unavailable', text);
  return new JobvisorError('internal_error', text);
}
