/**
 * `subscribe(listener, { since })`: replay the stored changes after `since`, then continue live,
 * with no gap and no duplicate at the seam. Only committed changes are told, so every change
 * before `liveFrom` is in the store already. Live changes that arrive during the replay are held
 * back and delivered after it; the replay stops just before the first of them.
 */
import type { Unsubscribe } from '../common/emitter.js';
import type { JobStore, StoredChange } from '../store/port.js';
import { toView } from './records.js';
import type { ChangeListener, JobChange, JobView } from '../common/types.js';

const PAGE = 1_000;

/** Live changes, as they are told (supervisor/fanout.ts). */
export interface LiveFeed {
  subscribe(listener: ChangeListener, filter: { jobId?: string; type?: string }): Unsubscribe;
}

export interface FollowContext {
  readonly store: JobStore;
  readonly fanout: LiveFeed;
  /** The offset of the first change told after the subscription began. */
  readonly liveFrom: number;
  /** The jobs a resync shows: every job matching the filter, as it is now. */
  currentJobs(filter: { jobId?: string; type?: string }): JobView[];
  listenerFailed(error: unknown, jobId: string): void;
  /** Tracks the replay so that shutdown can wait for it; failures are reported there. */
  track(task: Promise<void>): void;
}

export interface FollowRequest {
  readonly listener: ChangeListener;
  readonly since: number;
  readonly jobId?: string;
  readonly type?: string;
  readonly onResync?: (jobs: JobView[]) => void;
}

export function follow(ctx: FollowContext, request: FollowRequest): Unsubscribe {
  const { listener, since, jobId, type } = request;
  const held: JobChange[] = [];
  let live = false;
  let closed = false;
  const deliver = (change: JobChange) => {
    if (closed || change.offset <= since) return;
    try {
      listener(change);
    } catch (error) {
      ctx.listenerFailed(error, change.jobId);
    }
  };
  const off = ctx.fanout.subscribe((change) => (live ? deliver(change) : held.push(change)), { jobId, type });
  const { liveFrom } = ctx;
  const matches = (c: StoredChange) =>
    (jobId === undefined || c.jobId === jobId) && (type === undefined || c.record.type === type);

  const replay = async () => {
    try {
      await replayStored();
    } finally {
      // Even after a failed replay (reported by `track`), the subscription goes live: held
      // changes are delivered and nothing piles up.
      for (const change of held) deliver(change);
      held.length = 0;
      live = true;
    }
  };
  const replayStored = async () => {
    if (since + 1 < liveFrom) {
      const first = await ctx.store.firstOffset();
      if (since + 1 < first) {
        if (!closed) request.onResync?.(ctx.currentJobs({ jobId, type }));
      } else {
        let after = since;
        while (!closed && after + 1 < liveFrom) {
          const page = await ctx.store.changesSince(after, PAGE);
          if (page.length === 0) break;
          for (const change of page) {
            if (change.offset >= liveFrom) break;
            if (matches(change)) deliver(fromStored(change));
            after = change.offset;
          }
          if (page.length < PAGE) break;
        }
      }
    }
  };
  ctx.track(replay());
  return () => {
    closed = true;
    off();
  };
}

/** One job's stored changes after `after`: the store's own index, or a filtered scan of the log. */
export async function readHistory(
  store: JobStore,
  jobId: string,
  after: number,
  limit: number,
): Promise<readonly StoredChange[]> {
  if (store.changesOf) return store.changesOf(jobId, after, limit);
  const out: StoredChange[] = [];
  for (;;) {
    const page = await store.changesSince(after, PAGE);
    for (const change of page) {
      if (change.jobId === jobId) out.push(change);
      if (out.length >= limit) return out;
    }
    if (page.length < PAGE) return out;
    after = page.at(-1)!.offset;
  }
}

export function fromStored(change: StoredChange): JobChange {
  return {
    offset: change.offset,
    jobId: change.jobId,
    seq: change.seq,
    kind: change.kind,
    at: change.at,
    job: toView(change.record),
  };
}
