/**
 * Group commit (src/durability/group-commit.ts), on a store whose commits end when the test says: a
 * store with `poll` is polled as changes are appended, and the changes appended while a batch is
 * written are handed to it as soon as that batch is durable (they waited a whole commit already),
 * not a turn of the event loop later; a store without `poll` gets them at the end of that turn.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/common/clock.js';
import { GroupCommit } from '../src/durability/group-commit.js';
import type { JobStore } from '../src/index.js';
import { faultyStore } from './store-faults.js';
import { Writer } from './store-contract.js';

/**
 * A store whose commits wait until `finish()` lets the one in flight through (`faultyStore`'s gate);
 * with `poll`, which counts its calls and may finish it (as the SQLite thread's store settles a
 * commit its thread finished).
 */
function manualStore({ polled = true } = {}) {
  const faults = faultyStore();
  faults.gated = true;
  let polls = 0;
  let finishOnPoll = false;
  const poll = () => {
    polls++;
    if (finishOnPoll) faults.open();
  };
  const store: JobStore = polled ? { ...faults.store, poll } : faults.store;
  return {
    store,
    calls: faults.batches,
    finish: () => faults.open(),
    polls: () => polls,
    finishOnPoll: () => (finishOnPoll = true),
  };
}

const events = () => ({ committed: () => undefined, refused: () => undefined, failed: () => undefined });
/** Microtasks only: what runs here runs before any turn of the event loop (setImmediate, I/O). */
const microtasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('group commit', () => {
  it('polled: writes what came during a commit as soon as that commit is durable, not a turn later', async () => {
    const { store, calls, finish } = manualStore();
    await store.open({ recentLimit: 10 });
    const commits = new GroupCommit(store, systemClock, events(), 5_000);
    const w = new Writer();
    commits.append(w.change('a', 'created'), null);
    await new Promise((resolve) => setImmediate(resolve)); // the first batch goes at the turn's end
    expect(calls.map((batch) => batch.length)).toEqual([1]);
    commits.append(w.change('b', 'created'), null);
    commits.append(w.change('a', 'started'), null);
    finish();
    await microtasks();
    expect(calls.map((batch) => batch.map((c) => `${c.jobId}:${c.kind}`))).toEqual([
      ['a:created'],
      ['b:created', 'a:started'],
    ]);
    finish();
    await commits.flushed();
  });

  it('not polled: writes what came during a commit at the end of the turn that heard it durable', async () => {
    const { store, calls, finish } = manualStore({ polled: false });
    await store.open({ recentLimit: 10 });
    const commits = new GroupCommit(store, systemClock, events(), 5_000);
    const w = new Writer();
    commits.append(w.change('a', 'created'), null);
    await new Promise((resolve) => setImmediate(resolve));
    commits.append(w.change('a', 'started'), null);
    finish();
    await microtasks();
    expect(calls).toHaveLength(1); // not yet: what this turn still appends goes with it
    commits.append(w.change('a', 'progress'), null);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.map((batch) => batch.map((c) => c.kind))).toEqual([['created'], ['started', 'progress']]);
    finish();
    await commits.flushed();
  });

  it('polls a store that has poll() as changes are appended, and follows a commit it settles there', async () => {
    const { store, calls, finish, polls, finishOnPoll } = manualStore();
    await store.open({ recentLimit: 10 });
    const commits = new GroupCommit(store, systemClock, events(), 5_000);
    const w = new Writer();
    commits.append(w.change('a', 'created'), null);
    expect(polls()).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    finishOnPoll();
    commits.append(w.change('a', 'started'), null); // this poll ends the first commit
    const durable = commits.durable(1);
    await microtasks();
    await durable; // settled without a turn of the event loop
    expect(calls).toHaveLength(2); // and the second batch went at once
    expect(polls()).toBe(2);
    commits.append(w.change('a', 'completed'), null); // ends the second; the third goes at once
    await microtasks();
    expect(calls).toHaveLength(3);
    finish();
    await commits.flushed();
  });
});
