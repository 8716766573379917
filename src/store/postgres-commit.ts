/**
 * The commit of the PostgreSQL store: a batch in one transaction, written by one set-based
 * statement — the log's head row (gap-free offsets in commit order), the compare-and-set updates
 * of jobs that exist (fenced by owner and lease when several nodes share the schema), the inserts
 * of new jobs (a live key is unique, by a partial index), the change rows, each job row written
 * once with its latest offset, and one small notification. A change that can never be written
 * names its job (`details.jobId`); the transaction is then rolled back whole, the head with it.
 */
import type pg from 'pg';
import { JobvisorError } from '../common/errors.js';
import { CLAIMABLE_CHANGES, type ChangeDraft, type ClaimRequest, type JobRecord } from './port.js';
import { checkNextSeq, decodeJob, encodeRecord, storeConflict } from './encode.js';
import { toLogRecord } from './log-record.js';
import { BatchKeys } from './query.js';

const LIVE = `status IN ('pending', 'running')`;

/**
 * Separates the records in a text of records (`chr(30)`): JSON text never holds a raw control
 * character, so the statement splits them with `string_to_array` and nothing is escaped either
 * side (a text[] literal escapes every quote of every record).
 */
const RS = '\x1e';

/** What the commit function raises when `$33` is set and a row was not written. */
const FENCED = 'jobvisor_row_not_written';

/** The name of the commit function; a change to its text takes a new one (nodes of two versions share a schema). */
export const COMMIT_FUNCTION = 'jobvisor_commit_v2';

/**
 * The commit, as a function of the schema (created or replaced at every open, postgres-schema.ts):
 * one statement writes the log's head (gap-free offsets in commit order), the compare-and-set
 * updates of the jobs that exist (a job is written only if it is still at the seq before this
 * batch; a node writes only the jobs nobody or it owns, while its lease holds, and owns what it
 * leaves running), the inserts of new jobs (a live key held or an id taken refuses one), the change
 * rows, and each job row once with its latest offset; then the one small notification (delivered
 * at commit: the nodes that follow the log wake up). With `$33` a row not written raises
 * `FENCED` (the transaction is rolled back whole). With `$34` > 0 it then claims for the writer,
 * as `claim_jobs` does, after the batch's own ends: so the slots the batch frees are claimed in the
 * same round trip. Rows: the commit's (first offset, jobs updated, jobs inserted), then one per
 * claimed job (its record and offset).
 */
export function commitFunction(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.${COMMIT_FUNCTION}(
      int, text, text[], int[], text[], text[], text[], text[], int[], int8[], int8[], int8[], text, int8[],
      text[], text[], text[], text[], text[], int[], int8[], int8[], int8[], text, int8[],
      text[], int[], text[], int8[], text, text, text, boolean, int, text[], int[], int, int[])
    RETURNS TABLE (o_first bigint, o_updated text[], o_inserted text[], o_record text, o_offset bigint)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_first bigint;
      v_updated text[];
      v_inserted text[];
    BEGIN
      WITH head AS (
         UPDATE ${s}.log_head SET last = last + $1 WHERE id = 1 RETURNING last - $1 AS before
       ), updated AS (
         UPDATE ${s}.jobs AS j SET type = v.type, key = v.key, status = v.status, state = v.state,
             seq = v.seq, created_at = v.created_at, finished_at = v.finished_at, record = v.record,
             retry_at = v.retry_at, owner = CASE WHEN v.status = 'running' THEN $2::text END,
             cancel_requested = CASE WHEN v.status IN ('pending', 'running') THEN j.cancel_requested END,
             "offset" = head.before + v.ord
           FROM head, unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
                             $10::int8[], $11::int8[], $12::int8[], string_to_array($13::text, chr(30)), $14::int8[])
             AS v(id, expected, type, key, status, state, seq, created_at, finished_at, retry_at, record, ord)
           WHERE j.id = v.id AND j.seq = v.expected
             AND ($2::text IS NULL OR (
               (j.owner IS NULL OR j.owner = $2::text)
               AND EXISTS (SELECT 1 FROM ${s}.nodes n WHERE n.id = $2::text AND n.lease_until > now())))
           RETURNING j.id
       ), inserted AS (
         INSERT INTO ${s}.jobs (id, type, key, status, state, seq, created_at, finished_at, record, retry_at,
                                  owner, "offset", priority)
           SELECT v.id, v.type, v.key, v.status, v.state, v.seq, v.created_at, v.finished_at, v.record,
                  v.retry_at, CASE WHEN v.status = 'running' THEN $2::text END, head.before + v.ord,
                  v.priority
           FROM head, unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::int[],
                             $21::int8[], $22::int8[], $23::int8[], string_to_array($24::text, chr(30)), $25::int8[],
                             $38::int[])
             AS v(id, type, key, status, state, seq, created_at, finished_at, retry_at, record, ord, priority)
           ON CONFLICT DO NOTHING
           RETURNING id
       ), logged AS (
         INSERT INTO ${s}.changes ("offset", job_id, seq, kind, at, record)
           SELECT head.before + c.ord, c.job_id, c.seq, c.kind, c.at, c.record
           FROM head, unnest($26::text[], $27::int[], $28::text[], $29::int8[], string_to_array($30::text, chr(30)))
             WITH ORDINALITY AS c(job_id, seq, kind, at, record, ord)
       )
       SELECT head.before + 1, (SELECT array_agg(id) FROM updated), (SELECT array_agg(id) FROM inserted)
         INTO v_first, v_updated, v_inserted
        FROM head;
      PERFORM pg_notify($31, 'o:' || (v_first - 1 + $1) || ':' || $32 || ':' || COALESCE($2, ''));
      IF $33 AND (COALESCE(cardinality(v_updated), 0) <> COALESCE(cardinality($3), 0)
                  OR COALESCE(cardinality(v_inserted), 0) <> COALESCE(cardinality($15), 0)) THEN
        RAISE EXCEPTION '${FENCED}';
      END IF;
      RETURN QUERY SELECT v_first, v_updated, v_inserted, NULL::text, NULL::bigint;
      IF $34 > 0 THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text[], NULL::text[], c.claimed_record, c.claimed_offset
          FROM ${s}.claim_jobs($2, $34, $35, $36, $37) c;
      END IF;
    END
    $fn$`;
}

/**
 * What a commit answers: the offset of its first change, and the jobs it claimed in the same round
 * trip — `null` when it made no claim (none asked, or the batch took the transactional path).
 */
export interface Committed {
  readonly first: number;
  readonly claimed: readonly JobRecord[] | null;
}

/** $34–$37 of the commit function when it claims nothing. */
const NO_CLAIM: readonly unknown[] = [0, [], [], 0];

export async function commitBatch(
  pool: pg.Pool,
  target: { readonly schema: string; readonly channel: string },
  batch: readonly ChangeDraft[],
  writer: string | undefined,
  claim?: ClaimRequest,
): Promise<Committed> {
  const s = target.schema;
  // One row write per job, with its latest record; the seq it must find is the one before its first change.
  const jobs = new Map<string, { firstSeq: number; last: ChangeDraft; ord: number }>();
  const changes = batch.map((change, i) => {
    const { jobId } = change;
    const seen = jobs.get(jobId);
    checkNextSeq(jobId, seen?.last.seq, change.seq);
    jobs.set(jobId, { firstSeq: seen?.firstSeq ?? change.seq, last: change, ord: i + 1 });
    // The log's record leaves out what the job's row keeps (its input, its policy): log-record.ts.
    return encodeRecord(jobId, toLogRecord(change.record));
  });
  if (batch.length === 0) {
    const { rows } = await pool.query<{ last: number }>(`SELECT last FROM ${s}.log_head`);
    return { first: (rows[0]?.last ?? 0) + 1, claimed: null };
  }
  const inserts = [...jobs].filter(([, j]) => j.firstSeq === 1);
  const updates = [...jobs].filter(([, j]) => j.firstSeq !== 1);
  const up = rowColumns(updates);
  const ins = rowColumns(inserts);
  const claimable = batch.some((c) => CLAIMABLE_CHANGES.has(c.kind));
  const values = [
    batch.length,
    writer ?? null,
    up.ids,
    updates.map(([, j]) => j.firstSeq - 1),
    ...up.rest,
    updates.map(([, j]) => j.ord),
    ins.ids,
    ...ins.rest,
    inserts.map(([, j]) => j.ord),
    batch.map((c) => c.jobId),
    batch.map((c) => c.seq),
    batch.map((c) => c.kind),
    batch.map((c) => c.at),
    changes.join(RS),
    target.channel,
    claimable ? '1' : '0',
  ];
  // The inserted jobs' priorities (fixed at creation: only a new row takes one), in the inserts' order.
  const priorities = inserts.map(([, j]) => j.last.record.priority);
  // $1–$32 above, then $33 (fail on a row not written), the claim's $34–$37 and $38 (priorities).
  const args = (check: boolean, claimed: readonly unknown[]) => [...values, check, ...claimed, priorities];
  const call = `SELECT * FROM ${s}.${COMMIT_FUNCTION}(${args(false, NO_CLAIM)
    .map((_, i) => `$${i + 1}`)
    .join(', ')})`;
  // A batch that creates no keyed job is one call in a transaction of its own: one round trip, with
  // the claim for the slots it frees. It fails whole if a row is not written; then the transaction
  // below finds out which (and claims nothing: the durable end wakes a claim of its own).
  if (!batch.some((c) => c.seq === 1 && c.record.key !== null)) {
    try {
      const asked = claim && claim.max > 0 && claim.types.size > 0 ? claim : undefined;
      const { rows } = await pool.query<CommitRow>(call, args(true, asked ? claimValues(asked) : NO_CLAIM));
      const claimed = rows
        .slice(1)
        .sort((a, b) => a.o_offset! - b.o_offset!) // in queue order, as they are adopted
        .map((row) => decodeJob({ record: row.o_record!, offset: row.o_offset! }));
      return { first: rows[0]!.o_first!, claimed: asked ? claimed : null };
    } catch (error) {
      if (!isFenced(error)) throw error;
    }
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await checkKeys(client, s, batch);
    const { rows } = await client.query<CommitRow>(call, args(false, NO_CLAIM));
    const written = new Set(rows[0]!.o_updated ?? []);
    const missed = updates.find(([id]) => !written.has(id));
    if (missed) {
      const [id, j] = missed;
      throw storeConflict(
        id,
        `Job ${id} is not at seq ${j.firstSeq - 1}, or another node owns it (a stale write, an unknown job, or a lapsed lease)`,
      );
    }
    const created = new Set(rows[0]!.o_inserted ?? []);
    const refused = inserts.find(([id]) => !created.has(id));
    if (refused) throw await insertConflict(client, s, refused[0], refused[1].last.record.key);
    await client.query('COMMIT');
    return { first: rows[0]!.o_first!, claimed: null };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A row the commit function answers: the commit's first, then one per claimed job. */
interface CommitRow {
  o_first: number | null;
  o_updated: string[] | null;
  o_inserted: string[] | null;
  o_record: string | null;
  o_offset: number | null;
}

/** A limit as PostgreSQL's int: no limit (Infinity), or anything larger, is the largest int. */
const int4 = (n: number) => Math.min(n, 2_147_483_647);

/** A claim's parameters after the node (`claim_jobs`'s, and $34–$37 of the commit function). */
export function claimValues(request: ClaimRequest): unknown[] {
  return [
    int4(request.max),
    [...request.types.keys()],
    [...request.types.values()].map(int4),
    int4(request.concurrency),
  ];
}

function isFenced(error: unknown): boolean {
  return error instanceof Error && error.message.includes(FENCED);
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

/**
 * The columns of the job rows to write, as arrays for `unnest`: ids first, then the rest in order,
 * the last of them the whole records (of each job's last change in the batch) as one text split on
 * U+001E.
 */
function rowColumns(jobs: [string, { last: ChangeDraft }][]) {
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
      records.map((r) => (r.status === 'pending' ? r.deadlines.retryAt : null)),
      jobs.map(([id, j]) => encodeRecord(id, j.last.record)).join(RS),
    ],
  };
}
