/**
 * A store wrapper for durability tests: commits wait at a gate the test opens, a change can be
 * refused for good (as a store that cannot encode it would), and writes can fail for a while (as
 * a full disk would). Everything else goes to the wrapped store.
 */
import { JobvisorError, memoryStore, type ChangeDraft, type JobStore } from '../src/index.js';
import { deferred, type Deferred } from './helpers.js';

export interface FaultyStore {
  readonly store: JobStore;
  /** Every batch handed to commit, in order (also those that failed). */
  readonly batches: ChangeDraft[][];
  /** While true, commits wait until `open()` lets the waiting ones through. */
  gated: boolean;
  /** Lets every commit waiting at the gate through. */
  open(): void;
  /** Resolves once a commit is waiting at the gate. */
  waiting(): Promise<void>;
  /** Changes for which this answers a code are refused, naming their job. */
  refuse: (draft: ChangeDraft) => 'change_not_storable' | undefined;
  /** Commits fail with this error while it is set (a transient failure: no job named). */
  failure: Error | undefined;
}

export function faultyStore(inner: JobStore = memoryStore()): FaultyStore {
  let gate: Deferred<void> = deferred();
  let arrived: Deferred<void> = deferred();
  const faults: FaultyStore = {
    store: {
      name: 'faulty',
      open: (options) => inner.open(options),
      async commit(batch) {
        faults.batches.push([...batch]);
        if (faults.gated) {
          arrived.resolve();
          await gate.promise;
        }
        if (faults.failure) throw faults.failure;
        for (const draft of batch) {
          const code = faults.refuse(draft);
          if (code) throw new JobvisorError(code, `refused ${draft.jobId}`, { jobId: draft.jobId });
        }
        return inner.commit(batch);
      },
      get: (id) => inner.get(id),
      list: (query) => inner.list(query),
      changesSince: (after, limit) => inner.changesSince(after, limit),
      changesOf: (jobId, after, limit) => inner.changesOf!(jobId, after, limit),
      firstOffset: () => inner.firstOffset(),
      expire: (policy) => inner.expire(policy),
      close: () => inner.close(),
    },
    batches: [],
    gated: false,
    open() {
      gate.resolve();
      gate = deferred();
      arrived = deferred();
    },
    waiting: () => arrived.promise,
    refuse: () => undefined,
    failure: undefined,
  };
  return faults;
}

/** A transient store failure, as SQLite reports a full disk. */
export function diskFull(): JobvisorError {
  return new JobvisorError('store_unavailable', 'SQLite store: commit: database or disk is full', {
    cause: 'SQLITE_FULL',
  });
}
