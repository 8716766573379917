/**
 * One live job: its actor, the one writer of its record, and the translation of the actor's
 * snapshots into changes (`seq` moved) and rejections (the machine emitted `rejected`).
 *
 * Every way into the actor — a send, a timer firing, its start — runs as one step, and what the
 * step has to tell (a change, a rejection, a crash) waits until the step is over. So no listener
 * runs inside a step of the actor it hears from: a subscriber, a `rejected` listener or the engine
 * that reacts by sending to this job again is processed at once, and its answer is exact. A send
 * that still comes from inside a step (an inspection observer) is answered from a pure transition
 * of the state the actor will be in, and applied as soon as the step ends.
 */
import { createActor, transition, type Actor } from 'xstate';
import type { JobMachine } from '../../machines/job.machine.js';
import { rejectionReason, stateName } from '../../machines/job.rejection.js';
import type { JobEvent, JobInput, JobStatus, RejectedEmit } from '../../machines/job.types.js';
import type { Clock } from '../common/clock.js';
import type { EventSource, JobView, Outcome } from '../common/types.js';
import type { CellHooks, CellOptions, Notice } from './cell-types.js';
import { installActorTimers } from './actor-timers.js';
import { attachCell, HandlerSlot, type HandlerMoments } from './handler-slot.js';
import { initialView, statusOf, toView, type JobSnapshot } from './job-view.js';
import { isScheduled } from '../../machines/job.context.js';

export type { JobSnapshot };

export { isTerminal } from './job-view.js';

export type { CellChange, CellHooks, CellOptions, JobDurability } from './cell-types.js';

const ACCEPTED: Outcome = Object.freeze({ accepted: true });

export class JobCell implements HandlerMoments {
  readonly id: string;
  readonly type: string;
  readonly key: string | null;
  /** Higher starts first among queued jobs (fixed at creation). */
  readonly priority: number;
  /**
   * A shared store: this cell only creates its job (or only cancels a pending one) and never runs
   * it here; the engine does not count it as this node's.
   */
  onlyCreates = false;
  #actor: Actor<JobMachine> | undefined;
  readonly #machine: JobMachine;
  readonly #input: JobInput;
  readonly #clock: Clock;
  readonly #hooks: CellHooks;
  /** Called with the actor right after it is created, before it starts (inspection taps). */
  readonly #onActor: ((cell: JobCell, actor: Actor<JobMachine>) => void) | undefined;
  #seq = 1;
  #status: JobStatus = 'pending';
  readonly #here: string;
  /** The node of the latest attempt: this one's once it started one here. */
  #node: string | null;
  #view: JobView | undefined;
  #lastRejection: RejectedEmit | undefined;
  /** Set when the actor crashed or the store refused the job: its last words, as a failed record. */
  #crashView: JobView | undefined;
  /** Ordinals (GroupCommit) of the first and of the latest change handed to the store; 0: none yet. */
  #firstAppended = 0;
  #lastAppended = 0;
  #refused = false;
  /** Set when another node took the job over (a shared store): its attempt here is stale. */
  #abandoned = false;
  #publishes = true;
  /** Steps of the actor in progress (a step may start another: the actor's own mailbox). */
  #depth = 0;
  readonly #notices: Notice[] = [];
  #telling = false;
  /** Sends that came from inside a step, and the snapshot they will have led to. */
  readonly #later: { readonly event: JobEvent; readonly source: EventSource }[] = [];
  /** Who sent the event of the step in progress: what its rejection (if any) names. */
  #source: EventSource = 'supervisor';
  #shadow: JobSnapshot | undefined;
  readonly #handler: HandlerSlot;
  /** The attempt whose step entered `running`: its handler launches once that change is told. */
  #entering: number | undefined;

  /**
   * Creating the actor is deferred to `start()` — called by whatever first needs the actor (its
   * START, a send, a snapshot): a supervisor action must not create actors, and a pending job is
   * lighter without one. Until then the job is its input (`pending.queued`, unless restored).
   */
  constructor(machine: JobMachine, input: JobInput, options: CellOptions) {
    this.id = input.id;
    this.type = input.type;
    this.key = input.key;
    this.priority = input.priority ?? 0;
    this.#machine = machine;
    this.#input = input;
    this.#clock = options.clock;
    this.#hooks = options.hooks;
    this.#onActor = options.onActor;
    this.#here = options.node;
    this.#node = options.lastNode ?? null;
    this.#seq = input.restore?.seq ?? 1;
    this.#handler = new HandlerSlot(options.launch);
  }

  /** Creates and starts the actor; a restored job may change in this step (re-armed, interrupted). */
  start(): void {
    if (this.#actor) return;
    const clock = this.#stepClock();
    const actor = createActor(this.#machine, { input: this.#input, clock });
    installActorTimers(actor, clock); // XState's own scheduler is slow for an actor per job
    this.#actor = actor;
    attachCell(actor, this);
    this.#onActor?.(this, actor);
    actor.on('rejected', (rejection) => {
      this.#lastRejection = rejection;
      this.#notices.push({ rejection, source: this.#source });
    });
    actor.subscribe({
      next: (snapshot) => this.#onSnapshot(snapshot),
      error: (error) => this.#notices.push({ crash: error }),
    });
    this.#step(() => actor.start());
    this.#settle();
  }

  /** Stops the actor and aborts the handler (stopping an actor runs no exit action). */
  stop(): void {
    this.#actor?.stop();
    this.#handler.halt();
  }

  /** @internal The machine's `launchHandler` (inside the step that entered `running`). */
  handlerEntered(attempt: number): void {
    this.#entering = attempt;
  }

  /** @internal The machine's `stopHandler` (inside the step that left `running`). */
  handlerExited(attempt: number): void {
    this.#notices.push({ halt: attempt });
  }

  /** The job's actor, once created (inspection reads its system and session id). */
  get actor(): Actor<JobMachine> | undefined {
    return this.#actor;
  }

  /** The actor's current snapshot (starting the actor if it was not yet). */
  get snapshot(): JobSnapshot {
    return this.#snapshot();
  }

  #snapshot(): JobSnapshot {
    this.start();
    return this.#actor!.getSnapshot();
  }

  get status(): JobStatus {
    return this.#status;
  }

  get seq(): number {
    return this.#seq;
  }

  /** A fresh job whose actor is not made yet: it is queued at attempt 0, as its input says. */
  get #unmade(): boolean {
    return !this.#actor && !this.#input.restore;
  }

  get attempt(): number {
    if (this.#unmade) return 0;
    return this.#snapshot().context.run.attempt;
  }

  /** What the job was created from. */
  get input(): JobInput {
    return this.#input;
  }

  /** A fresh job created to wait for its time first (`pending.scheduled`). */
  get scheduled(): boolean {
    return !this.#input.restore && isScheduled(this.#input);
  }

  /** Waiting for a slot (not waiting out a retry backoff or a delayed job's time). */
  get isQueued(): boolean {
    if (this.#unmade) return !this.scheduled;
    const value = this.#snapshot().value;
    return typeof value === 'object' && 'pending' in value && value.pending === 'queued';
  }

  /** The job as callers see it, built once per change (and after a heartbeat). */
  get view(): JobView {
    if (this.#unmade) return (this.#view ??= initialView(this.#input, this.#node));
    // A restored job's view is its restored snapshot's (`#snapshot()` makes the actor).
    return this.#crashView ?? (this.#view ??= toView(this.#snapshot(), this.#status, this.#node));
  }

  /** Whether its changes go to the store and the subscribers: not for a job the store refused to create. */
  get publishes(): boolean {
    return this.#publishes;
  }

  /** The ordinal of the change the router just handed to the store. */
  appended(ordinal: number): void {
    if (this.#firstAppended === 0) this.#firstAppended = ordinal;
    this.#lastAppended = ordinal;
  }

  /** The ordinal of the job's first change handed to the store (its creation); 0 before. */
  get createdOrdinal(): number {
    return this.#firstAppended;
  }

  /** The ordinal of the job's latest change handed to the store; 0 before the first. */
  get lastOrdinal(): number {
    return this.#lastAppended;
  }

  /**
   * The store refused a change of this job for good (it cannot encode it, or another writer owns
   * the job): the job's actor stops, and the job fails from `durable`, its last durable view, with
   * the store's code. A job whose creation the store refused never existed: it ends unannounced.
   */
  refuse(error: { code: string; message: string }, durable: JobView | undefined): boolean {
    if (this.#refused) return false; // its failure was refused too: nothing more can be written
    this.#refused = true;
    this.#publishes = durable !== undefined;
    this.stop();
    this.#end(durable ?? this.view, { code: error.code, message: error.message });
    this.#tell();
    return true;
  }

  /**
   * A shared store: the job is no longer this node's (its write was fenced: another node took it
   * over, or this node's lease lapsed). The actor stops — which aborts the handler — and writes
   * nothing more; what the handler still sends is rejected as `stale_attempt`.
   */
  abandon(): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#publishes = false;
    this.stop();
  }

  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** Sends one event; the answer says whether the job applied it. */
  send(event: JobEvent, source: EventSource): Outcome {
    if (this.#abandoned) {
      const rejection: RejectedEmit = {
        type: 'rejected',
        event,
        state: this.#status,
        reason: 'stale_attempt',
      };
      this.#hooks.rejected(this, rejection, source);
      return { accepted: false, reason: 'stale_attempt' };
    }
    const snapshot = this.#snapshot();
    if (snapshot.status !== 'active') {
      const rejection: RejectedEmit = { type: 'rejected', event, state: this.#status, reason: 'job_final' };
      this.#hooks.rejected(this, rejection, source);
      return { accepted: false, reason: 'job_final' };
    }
    if (this.#depth > 0) return this.#sendAfterStep(event, source);
    this.#lastRejection = undefined;
    const actor = this.#actor!;
    this.#step(() => actor.send(event), source);
    // The answer is this step's own: read before anything reacts to the step.
    const rejection = this.#lastRejection as RejectedEmit | undefined;
    const outcome = rejection?.event === event ? { accepted: false, reason: rejection.reason } : ACCEPTED;
    this.#settle();
    return outcome;
  }

  /**
   * A send from inside a step of this actor: answered now from a pure transition of the state the
   * actor will be in once the step and the sends before this one are done, applied then.
   */
  #sendAfterStep(event: JobEvent, source: EventSource): Outcome {
    const before = this.#shadow ?? this.#actor!.getSnapshot();
    this.#later.push({ event, source });
    if (before.status !== 'active') return { accepted: false, reason: 'job_final' };
    const [next] = transition(this.#machine, before, event);
    this.#shadow = next;
    if (next.context !== before.context) return ACCEPTED;
    return { accepted: false, reason: rejectionReason(stateName(before.value), before.context, event) };
  }

  /** Runs `enter` (a send, a timer, the start) as a step of the actor, for what `source` sent. */
  #step(enter: () => void, source: EventSource = 'supervisor'): void {
    const outer = this.#source;
    this.#source = source;
    this.#depth++;
    try {
      enter();
    } finally {
      this.#depth--;
      this.#source = outer;
    }
  }

  /** Once no step is in progress: applies the sends made inside steps, then tells what they did. */
  #settle(): void {
    if (this.#depth > 0) return;
    while (this.#later.length > 0) {
      const { event, source } = this.#later.shift()!;
      this.#step(() => this.#actor!.send(event), source);
    }
    this.#shadow = undefined;
    this.#tell();
  }

  /** The clock the actor's timers use: a timer that fires runs as a step of this cell. */
  #stepClock(): Clock {
    const clock = this.#clock;
    return {
      now: () => clock.now(),
      setTimeout: (fn, ms) =>
        clock.setTimeout((...args) => {
          this.#step(() => fn(...args));
          this.#settle();
        }, ms),
      clearTimeout: (id) => clock.clearTimeout(id),
    };
  }

  /** Tells the notices of the steps that are over, in order; a notice that leads to more waits its turn. */
  #tell(): void {
    if (this.#telling) return;
    this.#telling = true;
    try {
      for (let notice = this.#notices.shift(); notice; notice = this.#notices.shift()) {
        if ('kind' in notice) this.#hooks.changed(this, notice);
        else if ('rejection' in notice) {
          this.#hooks.rejected(this, notice.rejection, notice.source);
        } else if ('launch' in notice) this.#launch(notice.launch);
        else if ('halt' in notice) this.#handler.halt(notice.halt);
        else this.#crash(notice.crash);
      }
    } finally {
      this.#telling = false;
    }
  }

  /** Launches the attempt's handler, unless the attempt is already over; a launch that throws fails it. */
  #launch(attempt: number): void {
    if (this.#status !== 'running' || this.#abandoned || this.#refused) return;
    const { spec, run } = this.#actor!.getSnapshot().context;
    if (run.attempt !== attempt) return;
    const input = { jobId: this.id, type: this.type, key: this.key, attempt, input: spec.input };
    this.#handler.launch(input, (error) => {
      const message = error instanceof Error ? error.message : String(error);
      const at = this.#clock.now();
      this.send({ type: 'FAIL', attempt, error: { code: 'handler_crashed', message }, at }, 'supervisor');
    });
  }

  /** A throwing action put the actor in error for good: fail the job, never the supervisor. */
  #crash(error: unknown): void {
    this.#handler.halt();
    this.#hooks.crashed(this, error);
    const before = toView(this.#snapshot(), this.#status, this.#node);
    const message = error instanceof Error ? error.message : String(error);
    this.#end(before, { code: 'internal_error', message: `the job's actor failed: ${message}` });
  }

  /** Fails the job outside its machine: one change after `before`, at the actor's latest time. */
  #end(before: JobView, error: { code: string; message: string }): void {
    const previous = this.#status;
    const at = Math.max(before.updatedAt, this.#snapshot().context.run.at);
    this.#seq = before.seq + 1;
    this.#status = 'failed';
    this.#crashView = Object.freeze({
      ...before,
      status: 'failed',
      state: 'failed',
      seq: this.#seq,
      updatedAt: at,
      finishedAt: at,
      nextRetryAt: null,
      result: null,
      error,
    });
    this.#notices.push({ kind: 'failed', previous, snapshot: this.#snapshot(), view: this.#crashView });
  }

  #onSnapshot(snapshot: JobSnapshot): void {
    this.#view = undefined;
    const { seq, lastChange } = snapshot.context.run;
    if (seq === this.#seq) return; // a heartbeat or a rejection: nothing for subscribers
    const previous = this.#status;
    this.#seq = seq;
    this.#status = statusOf(snapshot.value);
    if (lastChange === 'started') this.#node = this.#here;
    // The view of this very change: later steps may move the job on before it is told.
    const view = (this.#view = toView(snapshot, this.#status, this.#node));
    this.#notices.push({ kind: lastChange, previous, snapshot, view });
    if (this.#entering === undefined) return;
    this.#notices.push({ launch: this.#entering });
    this.#entering = undefined;
  }
}
