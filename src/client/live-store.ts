/** The state of one live subscription, as an @xstate/store store (pure transitions, no I/O). */
import { createStore } from '@xstate/store';
import type { WireChange, WireJob, WireRejection } from '../protocol/schemas.js';

/** Rejected events a live store keeps (the newest). */
export const KEPT_REJECTIONS = 100;

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LiveError {
  readonly code: string;
  readonly message: string;
}

export interface LiveContext {
  /** The topic's jobs by id, each at the newest `seq` seen. */
  jobs: Record<string, WireJob>;
  /** The offset of the last change applied (the `since` of the next reconnect). */
  offset: number;
  status: LiveStatus;
  /** The last error (a server error, a bad message, or why the subscription closed). */
  error: LiveError | null;
  /** Rejected events of the topic, oldest first (only with `rejections: true`). */
  rejections: WireRejection[];
}

/** Whether `change` is new for `context`: a later offset, and a newer seq than the job shown. */
export function isNewChange(context: LiveContext, change: WireChange): boolean {
  if (change.offset <= context.offset) return false;
  const current = context.jobs[change.jobId];
  return current === undefined || change.seq > current.seq;
}

export function createLiveStore(initialOffset: number) {
  const context: LiveContext = {
    jobs: {},
    offset: initialOffset,
    status: 'connecting',
    error: null,
    rejections: [],
  };
  return createStore({
    context,
    on: {
      /**
       * `replace`: the first snapshot or a resync — the topic's jobs are exactly these, at `offset`.
       * Otherwise (a resumed subscription): merge jobs that are newer, keep the offset so the
       * replayed changes that follow still apply.
       */
      snapshot: (ctx, event: { jobs: readonly WireJob[]; offset: number; replace: boolean }): LiveContext => {
        if (event.replace) {
          const jobs: Record<string, WireJob> = {};
          for (const job of event.jobs) jobs[job.id] = job;
          return { ...ctx, jobs, offset: event.offset, status: 'live', error: null };
        }
        const jobs = { ...ctx.jobs };
        for (const job of event.jobs) {
          const current = jobs[job.id];
          if (current === undefined || job.seq > current.seq) jobs[job.id] = job;
        }
        return { ...ctx, jobs, status: 'live', error: null };
      },
      change: (ctx, event: { change: WireChange }): LiveContext => {
        const { change } = event;
        if (change.offset <= ctx.offset) return ctx;
        if (!isNewChange(ctx, change)) return { ...ctx, offset: change.offset };
        return { ...ctx, offset: change.offset, jobs: { ...ctx.jobs, [change.jobId]: change.job } };
      },
      /**
       * Finished jobs removed on the server (`remove`, `removeMany`): a removal is no change of the
       * stream, so whoever removed them drops them here. Live jobs are kept.
       */
      forget: (ctx, event: { jobIds: readonly string[] }): LiveContext => {
        const jobs = { ...ctx.jobs };
        for (const id of event.jobIds) {
          const job = jobs[id];
          if (job && job.status !== 'pending' && job.status !== 'running') delete jobs[id];
        }
        return { ...ctx, jobs };
      },
      /** Kept once per id (the server sends its recent ones again on every reconnect). */
      rejected: (ctx, event: { rejection: WireRejection }): LiveContext => {
        if (ctx.rejections.some((r) => r.id === event.rejection.id)) return ctx;
        const rejections = [...ctx.rejections, event.rejection];
        if (rejections.length > KEPT_REJECTIONS) rejections.splice(0, rejections.length - KEPT_REJECTIONS);
        return { ...ctx, rejections };
      },
      status: (ctx, event: { status: LiveStatus; error?: LiveError | null }): LiveContext => ({
        ...ctx,
        status: event.status,
        error: event.error === undefined ? ctx.error : event.error,
      }),
    },
  });
}

export type LiveStore = ReturnType<typeof createLiveStore>;
