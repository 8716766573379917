/**
 * The commit of the PostgreSQL store: a batch in one transaction of set-based statements — the
 * compare-and-set updates of jobs that exist (fenced by owner and lease when several nodes share
 * the schema), the inserts of new jobs (a live key is unique, by a partial index), then, taking the
 * log's head row as late as possible, the offsets, the change rows and each job's latest offset;
 * and one small notification. A change that can never be written names its job (`details.jobId`).
 */
import type pg from 'pg';
import { JobvisorError } from '../common/errors.js';
import type { ChangeDraft } from './port.js';
import { checkNextSeq, encodeRecord, storeConflict } from './encode.js';
import { BatchKeys } from './query.js';

const LIVE = `status IN ('pending', 'running')`;

/**
 * Changes worth waking the claimers for: a job is pending and nobody's, or one ended and freed its
 * place under the cluster-wide limits.
 */
const CLAIMABLE: ReadonlySet<string> = new Set([
  'created',
  'requeued',
  'retrying',
  'interrupted',
  'completed',
  'failed',
  'cancelled',
]);

export async function commitBatch(
  pool: pg.Pool,
  target: { readonly schema: string; readonly channel: string },
  batch: readonly ChangeDraft[],
  writer: string | undefined,
): Promise<number> {
  const s = target.schema;
  // One row write per job, with its latest record; the seq it must find is the one before its first change.
  const jobs = new Map<string, { firstSeq: number; last: ChangeDraft; json: string; ord: number }>();
  const changes = batch.map((change, i) => {
    const { jobId } = change;
    const seen = jobs.get(jobId);
    checkNextSeq(jobId, seen?.last.seq, change.seq);
    const json = encodeRecord(jobId, change.record);
    jobs.set(jobId, { firstSeq: seen?.firstSeq ?? change.seq, last: change, json, ord: i + 1 });
    return json;
  });
  if (batch.length === 0) {
    const { rows } = await pool.query<{ last: number }>(`SELECT last FROM ${s}.log_head`);
    return (rows[0]?.last ?? 0) + 1;
  }
  const inserts = [...jobs].filter(([, j]) => j.firstSeq === 1);
  const updates = [...jobs].filter(([, j]) => j.firstSeq !== 1);
  {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await checkKeys(client, s, batch);
      // Compare-and-set: a job is written only if it is still at the seq before this batch.
      if (updates.length > 0) {
        const columns = rowColumns(updates);
        // A node writes only the jobs nobody or it owns, while its lease holds; it owns what it leaves running.
        const { rows } = await client.query<{ id: string }>(
          `UPDATE ${s}.jobs AS j SET type = v.type, key = v.key, status = v.status, state = v.state,
               seq = v.seq, created_at = v.created_at, finished_at = v.finished_at, record = v.record,
               retry_at = v.retry_at, owner = CASE WHEN v.status = 'running' THEN $12::text END,
               cancel_requested = CASE WHEN v.status IN ('pending', 'running') THEN j.cancel_requested END
             FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
                         $8::int8[], $9::int8[], $10::text[], $11::int8[])
               AS v(id, expected, type, key, status, state, seq, created_at, finished_at, record, retry_at)
             WHERE j.id = v.id AND j.seq = v.expected
               AND ($12::text IS NULL OR (
                 (j.owner IS NULL OR j.owner = $12::text)
                 AND EXISTS (SELECT 1 FROM ${s}.nodes n WHERE n.id = $12::text AND n.lease_until > now())))
             RETURNING j.id`,
          [columns.ids, updates.map(([, j]) => j.firstSeq - 1), ...columns.rest, writer ?? null],
        );
        const written = new Set(rows.map((r) => r.id));
        const missed = updates.find(([id]) => !written.has(id));
        if (missed) {
          const [id, j] = missed;
          throw storeConflict(
            id,
            `Job ${id} is not at seq ${j.firstSeq - 1}, or another node owns it (a stale write, an unknown job, or a lapsed lease)`,
          );
        }
      }
      // New jobs: a live key held by another job, or an id taken, refuses the insert.
      if (inserts.length > 0) {
        const columns = rowColumns(inserts);
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO ${s}.jobs (id, type, key, status, state, seq, created_at, finished_at, record, retry_at,
                                    owner, "offset")
             SELECT v.id, v.type, v.key, v.status, v.state, v.seq, v.created_at, v.finished_at, v.record, v.retry_at,
                    CASE WHEN v.status = 'running' THEN $11::text END, 0
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                         $7::int8[], $8::int8[], $9::text[], $10::int8[])
               AS v(id, type, key, status, state, seq, created_at, finished_at, record, retry_at)
             ON CONFLICT DO NOTHING
             RETURNING id`,
          [columns.ids, ...columns.rest, writer ?? null],
        );
        const written = new Set(rows.map((r) => r.id));
        const missed = inserts.find(([id]) => !written.has(id));
        if (missed) throw await insertConflict(client, s, missed[0], missed[1].last.record.key);
      }
      // The log's head, taken last and held briefly: gap-free offsets in commit order. The same
      // statement sends the one small notification per commit (delivered at commit): the nodes
      // that follow the log wake up.
      const ids = [...jobs.keys()];
      const claimable = batch.some((c) => CLAIMABLE.has(c.kind));
      const { rows } = await client.query<{ first: number }>(
        `WITH head AS (
             UPDATE ${s}.log_head SET last = last + $1 WHERE id = 1 RETURNING last - $1 AS before
           ), logged AS (
             INSERT INTO ${s}.changes ("offset", job_id, seq, kind, at, record)
             SELECT head.before + c.ord, c.job_id, c.seq, c.kind, c.at, c.record
             FROM head, unnest($2::text[], $3::int[], $4::text[], $5::int8[], $6::text[])
               WITH ORDINALITY AS c(job_id, seq, kind, at, record, ord)
           ), positioned AS (
             UPDATE ${s}.jobs AS j SET "offset" = head.before + p.ord
             FROM head, unnest($7::text[], $8::int8[]) AS p(id, ord)
             WHERE j.id = p.id
           )
           SELECT before + 1 AS first, pg_notify($9, 'o:' || (before + $1) || ':' || $10) FROM head`,
        [
          batch.length,
          batch.map((c) => c.jobId),
          batch.map((c) => c.seq),
          batch.map((c) => c.kind),
          batch.map((c) => c.at),
          changes,
          ids,
          ids.map((id) => jobs.get(id)!.ord),
          target.channel,
          claimable ? '1' : '0',
        ],
      );
      const first = rows[0]!.first;
      await client.query('COMMIT');
      return first;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

/**
 * Keys in batch order: a new job's key must be free at its place in the batch (a holder that
 * finishes later in the same batch still holds it then). The unique index guards the races.
 */
async function checkKeys(
  client: pg.PoolClient,
  schema: string,
  batch: readonly ChangeDraft[],
): Promise<void> {
  const created = batch.filter((c) => c.seq === 1 && c.record.key !== null);
  if (created.length === 0) return;
  const { rows } = await client.query<{ id: string; key: string }>(
    `SELECT id, key FROM ${schema}.jobs WHERE key = ANY($1::text[]) AND ${LIVE}`,
    [[...new Set(created.map((c) => c.record.key!))]],
  );
  const live = new Map(rows.map((r) => [r.key, r.id]));
  const keys = new BatchKeys((key) => live.get(key) ?? null);
  for (const change of batch) {
    const holder = keys.step(change);
    if (holder !== null)
      throw storeConflict(change.jobId, `Key "${change.record.key}" is held by live job ${holder}`, holder);
  }
}

/** Why a new job was refused: its key is held by a live job, or its id is taken. */
async function insertConflict(
  client: pg.PoolClient,
  s: string,
  id: string,
  key: string | null,
): Promise<JobvisorError> {
  if (key !== null) {
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM ${s}.jobs WHERE key = $1 AND ${LIVE}`,
      [key],
    );
    const holder = rows[0]?.id;
    if (holder !== undefined && holder !== id)
      return storeConflict(id, `Key "${key}" is held by live job ${holder}`, holder);
  }
  return storeConflict(id, `Job ${id} exists already`);
}

/** The columns of the job rows to write, as arrays for `unnest`: ids first, then the rest in order. */
function rowColumns(jobs: [string, { last: ChangeDraft; json: string }][]) {
  const records = jobs.map(([, j]) => j.last.record);
  return {
    ids: jobs.map(([id]) => id),
    rest: [
      records.map((r) => r.type),
      records.map((r) => r.key),
      records.map((r) => r.status),
      records.map((r) => r.state),
      jobs.map(([, j]) => j.last.seq),
      records.map((r) => r.createdAt),
      records.map((r) => r.finishedAt),
      jobs.map(([, j]) => j.json),
      records.map((r) => (r.status === 'pending' ? r.deadlines.retryAt : null)),
    ],
  };
}
