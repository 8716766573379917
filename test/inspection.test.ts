/** Inspection: selections, the events of a job's life, late taps, rejections, isolation, Stately frames. */
import type { AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  createSupervisor,
  toStatelyFrame,
  type InspectionSelection,
  type JobvisorInspectionEvent,
  type Supervisor,
} from '../src/index.js';
import { Selector, sampleRank } from '../src/inspection/selection.js';
import { controlled, harness, thrownBy, until, type Call } from './helpers.js';

type Event = JobvisorInspectionEvent;

function record(supervisor: Supervisor, selection?: InspectionSelection) {
  const events: Event[] = [];
  const stop = supervisor.inspect((event) => events.push(event), selection);
  return { events, stop };
}

const actorOf = (event: Event): AnyActorRef | undefined =>
  'actorRef' in event ? (event.actorRef as AnyActorRef) : undefined;

/** The session id of the job actor that runs `jobId`, from the `@xstate.actor` events seen. */
function sessionOf(events: readonly Event[], jobId: string): string {
  for (const event of events) {
    const actor = actorOf(event);
    const context = (actor?.getSnapshot() as { context?: { spec?: { id?: string } } } | undefined)?.context;
    if (event.type === '@xstate.actor' && context?.spec?.id === jobId) return actor!.sessionId;
  }
  throw new Error(`no @xstate.actor event for job ${jobId}`);
}

/** The event types (`START`, `PROGRESS`…) sent to the actor with this session id. */
const sentTo = (events: readonly Event[], sessionId: string): string[] =>
  events.flatMap((e) =>
    e.type === '@xstate.event' && e.actorRef.sessionId === sessionId ? [e.event.type] : [],
  );

const roots = (events: readonly Event[]): Set<string> => new Set(events.map((e) => e.rootId));

/** A harness with a test-driven type `t` and a type `u` that completes at once. */
function setup() {
  const h = harness();
  const gate = controlled();
  h.supervisor.register('t', gate.handler);
  h.supervisor.register('u', () => 'done');
  const running = async (n: number): Promise<Call> => {
    await until(() => gate.calls.length >= n);
    return gate.calls[n - 1]!;
  };
  return { ...h, calls: gate.calls, running };
}

describe('selection', () => {
  const ids = Array.from({ length: 1_000 }, (_, i) => `job-${i}-${(i * 7919) % 1_000}`);

  it('samples by a hash of the job id: deterministic, 0 is none, 1 is all, a fraction is about that share', () => {
    const select = (sample: number) => new Selector({ supervisor: true, rejections: true, jobs: { sample } });
    expect(ids.filter((id) => select(0).selects(id, 't'))).toEqual([]);
    expect(ids.filter((id) => select(1).selects(id, 't'))).toHaveLength(1_000);
    const quarter = ids.filter((id) => select(0.25).selects(id, 't'));
    expect(quarter.length).toBeGreaterThan(200);
    expect(quarter.length).toBeLessThan(300);
    expect(ids.filter((id) => select(0.25).selects(id, 'other'))).toEqual(quarter);
    expect(ids.map(sampleRank)).toEqual(ids.map(sampleRank));
    // A larger sample keeps every job of a smaller one: a sampled job is in or out, never half.
    expect(quarter.every((id) => select(0.5).selects(id, 't'))).toBe(true);
  });

  it('types and ids narrow together; none selects no job', () => {
    const both = new Selector({
      supervisor: false,
      rejections: true,
      jobs: { types: ['a'], ids: ['1', '2'] },
    });
    expect([both.selects('1', 'a'), both.selects('3', 'a'), both.selects('1', 'b')]).toEqual([
      true,
      false,
      false,
    ]);
    const none = new Selector({ supervisor: true, rejections: true, jobs: 'none' });
    expect([none.anyJob, none.selects('1', 'a')]).toEqual([false, false]);
  });

  it('streams the supervisor only, the jobs only, or the jobs of one type or one id', async () => {
    const h = setup();
    const supervisorOnly = record(h.supervisor, { jobs: 'none' });
    const jobsOnly = record(h.supervisor, { supervisor: false });
    const ofTypeU = record(h.supervisor, { supervisor: false, jobs: { types: ['u'] } });
    const t1 = await h.supervisor.start({ type: 't' });
    await h.running(1);
    const oneId = record(h.supervisor, { supervisor: false, jobs: { ids: [t1.job.id] } });
    const u1 = await h.supervisor.start({ type: 'u' });
    await h.supervisor.waitFor(u1.job.id);
    h.calls[0]!.done.resolve(null);
    await h.supervisor.waitFor(t1.job.id);

    const [supervisorSession] = supervisorOnly.events.map((e) => e.rootId);
    expect(roots(supervisorOnly.events)).toEqual(new Set([supervisorSession]));
    expect(supervisorOnly.events[0]).toMatchObject({ type: '@xstate.actor', rootId: supervisorSession });
    expect(sentTo(supervisorOnly.events, supervisorSession!)).toContain('START_JOB');
    const t1Session = sessionOf(jobsOnly.events, t1.job.id);
    const u1Session = sessionOf(jobsOnly.events, u1.job.id);
    expect(roots(jobsOnly.events)).toEqual(new Set([t1Session, u1Session]));
    expect(roots(ofTypeU.events)).toEqual(new Set([u1Session]));
    expect(roots(oneId.events)).toEqual(new Set([t1Session]));
    for (const tap of [supervisorOnly, jobsOnly, ofTypeU, oneId]) tap.stop();
    expect(h.supervisor.stats().inspectors).toBe(0);
  });

  it('refuses a bad selection or observer with a coded error naming the value, and attaches nothing', async () => {
    const h = setup();
    const events: Event[] = [];
    const observe = (e: Event) => events.push(e);
    const sample = thrownBy(() => h.supervisor.inspect(observe, { jobs: { sample: 1.5 } }));
    expect(sample.code).toBe('invalid_request');
    expect(sample.message).toMatch(/jobs\.sample/);
    expect(thrownBy(() => h.supervisor.inspect(observe, { jobs: 'some' as 'all' })).message).toMatch(
      /jobs: must be/,
    );
    expect(
      thrownBy(() => h.supervisor.inspect(observe, { colour: 'red' } as InspectionSelection)).message,
    ).toMatch(/colour/);
    expect(thrownBy(() => h.supervisor.inspect(42 as unknown as () => void)).code).toBe('invalid_request');
    const option = thrownBy(() => createSupervisor({ inspect: { observer: observe, jobs: { types: [] } } }));
    expect(option.code).toBe('invalid_options');
    expect(option.message).toMatch(/inspect\.jobs\.types/);
    const observer = thrownBy(() =>
      createSupervisor({ inspect: { observer: 'log' as unknown as () => void } }),
    );
    expect(observer.message).toMatch(/inspect\.observer/);
    const { job } = await h.supervisor.start({ type: 'u' });
    await h.supervisor.waitFor(job.id);
    expect(events).toEqual([]);
    expect(h.supervisor.stats().inspectors).toBe(0);
  });
});

describe('events', () => {
  it("a job's life: @xstate.actor first, then its events and snapshots; a backwards progress is @jobvisor.rejected", async () => {
    const h = setup();
    const { events, stop } = record(h.supervisor, { supervisor: false });
    const { job } = await h.supervisor.start({ type: 't' });
    const call = await h.running(1);
    expect(call.ctx.progress(60)).toBe(true);
    expect(call.ctx.progress(30)).toBe(false);
    call.done.resolve('ok');
    await h.supervisor.waitFor(job.id);

    const session = sessionOf(events, job.id);
    const mine = events.filter((e) => e.rootId === session);
    expect(mine[0]!.type).toBe('@xstate.actor');
    expect(actorOf(mine[0]!)!.sessionId).toBe(session);
    expect(sentTo(mine, session)).toEqual(['xstate.init', 'START', 'PROGRESS', 'PROGRESS', 'COMPLETE']);
    // The handler runs outside the machine (its cell launches it): the job's system has one actor.
    const actors = mine.filter((e) => e.type === '@xstate.actor').map((e) => actorOf(e)!.sessionId);
    expect(actors).toEqual([session]);
    const snapshots = mine.filter((e) => e.type === '@xstate.snapshot' && e.actorRef.sessionId === session);
    expect(snapshots.at(-1)).toMatchObject({ snapshot: { status: 'done', value: 'completed' } });

    const rejected = mine.filter((e) => e.type === '@jobvisor.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      type: '@jobvisor.rejected',
      rootId: session,
      jobId: job.id,
      rejection: { event: 'PROGRESS', reason: 'progress_backwards', source: 'handler' },
    });
    // Right after the event it rejects.
    const second = mine.findLastIndex((e) => e.type === '@xstate.event' && e.event.type === 'PROGRESS');
    expect(mine.indexOf(rejected[0]!)).toBeGreaterThan(second);
    expect(toStatelyFrame(rejected[0]!)).toMatchObject({
      type: '@xstate.event',
      sessionId: session,
      rootId: session,
      event: {
        type: 'jobvisor.rejected',
        reason: 'progress_backwards',
        rejected: 'PROGRESS',
        state: 'running',
        source: 'handler',
        attempt: 1,
      },
    });
    stop();
  });

  it('a tap attached to a running job gets its @xstate.actor first, then what follows', async () => {
    const h = setup();
    const { job } = await h.supervisor.start({ type: 't' });
    const call = await h.running(1);
    const { events, stop } = record(h.supervisor, { supervisor: false });
    const session = sessionOf(events, job.id);
    expect(events.map((e) => e.type)).toEqual(['@xstate.actor']);
    expect(actorOf(events[0]!)!.sessionId).toBe(session);
    expect(events.every((e) => e.rootId === session)).toBe(true);
    call.ctx.progress(10);
    call.done.resolve(null);
    await h.supervisor.waitFor(job.id);
    expect(sentTo(events, session)).toEqual(['PROGRESS', 'COMPLETE']);
    stop();
  });

  it('after unsubscribe nothing more arrives; a late job_final rejection still names the job', async () => {
    const h = setup();
    const { events, stop } = record(h.supervisor);
    const { job } = await h.supervisor.start({ type: 't' });
    const call = await h.running(1);
    await h.supervisor.cancel(job.id);
    expect(call.ctx.progress(50)).toBe(false); // the actor is gone: job_final from the supervisor
    const late = events.filter((e) => e.type === '@jobvisor.rejected');
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ rootId: sessionOf(events, job.id), rejection: { reason: 'job_final' } });
    stop();
    stop(); // twice is harmless
    const seen = events.length;
    const next = await h.supervisor.start({ type: 'u' });
    await h.supervisor.waitFor(next.job.id);
    expect(call.ctx.progress(60)).toBe(false);
    expect(events).toHaveLength(seen);
    expect(h.supervisor.stats().inspectors).toBe(0);
  });

  it('the inspect option sees the supervisor start; observer objects with next() work', async () => {
    const events: Event[] = [];
    const supervisor = createSupervisor({
      inspect: { observer: { next: (e) => events.push(e) }, jobs: 'none' },
    });
    expect(events[0]?.type).toBe('@xstate.actor');
    expect(sentTo(events, events[0]!.rootId)[0]).toBe('xstate.init');
    expect(supervisor.stats().inspectors).toBe(1);
    await supervisor.shutdown();
  });

  it('a throwing observer never breaks the job, is reported, and the other taps still get every event', async () => {
    const h = setup();
    const where: string[] = [];
    h.supervisor.on('error', (report) => where.push(report.where));
    let calls = 0;
    h.supervisor.inspect(() => {
      calls++;
      throw new Error('observer boom');
    });
    const good = record(h.supervisor, { supervisor: false });
    const { job } = await h.supervisor.start({ type: 'u' });
    expect((await h.supervisor.waitFor(job.id)).status).toBe('completed');
    expect(calls).toBeGreaterThan(5);
    expect(h.errors.length).toBe(calls);
    expect(h.errors.every((e) => (e as Error).message === 'observer boom')).toBe(true);
    expect(new Set(where)).toEqual(new Set(['inspector']));
    expect(sentTo(good.events, sessionOf(good.events, job.id))).toEqual(['xstate.init', 'START', 'COMPLETE']);
  });
});
