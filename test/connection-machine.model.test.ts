/**
 * Model-based tests of the connection machine (machines/connection.machine.ts).
 *
 * Every shortest path of the machine's graph (xstate/graph; the reconnect timer and a crashing
 * socket actor included as their internal events) is replayed on a real actor on a SimulatedClock,
 * with a probe in place of the socket. Each step is checked against an oracle of the contract
 * written here, independently of the machine: the state, the context (attempt counter, resume,
 * errors), the delay the timer waits, the socket opened exactly while in `socket`, the subscribe
 * command and the snapshot's `replace`.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { exponentialBackoff } from '../machines/backoff.js';
import {
  CONNECTION_CLOSE_CODES,
  connectionMachine,
  type ConnectionContext,
  type ConnectionError,
  type ConnectionEvent,
  type ConnectionInput,
  type SocketCommand,
} from '../machines/connection.machine.js';
import { CLOSE_CODES } from '../src/protocol/schemas.js';
import { backoffDelay } from '../src/common/backoff.js';
import { toJSON, toMermaid } from '../scripts/mermaid.js';

type Snapshot = SnapshotFrom<typeof connectionMachine>;

// ---------------------------------------------------------------------------------------------
// A real actor with a probe for a socket, on a clock that counts its pending timers
// ---------------------------------------------------------------------------------------------

/** A SimulatedClock that knows which of its timers are still pending. */
class CountingClock extends SimulatedClock {
  readonly pending = new Set<number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = super.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, timeout);
    this.pending.add(id);
    return id;
  }

  override clearTimeout(id: number): void {
    this.pending.delete(id);
    super.clearTimeout(id);
  }
}

/** Sent to the probe socket to make it throw: the machine sees `xstate.error.actor.socket`. */
const CRASH = { type: 'CRASH' } as const;

interface Probe {
  opened: number;
  /** Sockets open now (opened, not stopped). */
  live: number;
  readonly commands: SocketCommand[];
  readonly snapshots: { replace: boolean }[];
}

interface Connection {
  readonly actor: ReturnType<typeof createConnectionActor>;
  readonly clock: CountingClock;
  readonly probe: Probe;
  readonly errors: unknown[];
}

function createConnectionActor(input: ConnectionInput, clock: SimulatedClock, probe: Probe) {
  const socket = fromCallback<SocketCommand, undefined, ConnectionEvent>(({ receive }) => {
    probe.opened++;
    probe.live++;
    receive((command: SocketCommand | typeof CRASH) => {
      if (command.type === 'CRASH') throw new Error('socket crashed');
      probe.commands.push(command);
    });
    return () => {
      probe.live--;
    };
  });
  const machine = connectionMachine.provide({
    actors: { socket },
    actions: { applySnapshot: (_args, params) => void probe.snapshots.push(params) },
  });
  return createActor(machine, { input, clock });
}

function createConnection(input: ConnectionInput): Connection {
  const clock = new CountingClock();
  const probe: Probe = { opened: 0, live: 0, commands: [], snapshots: [] };
  const actor = createConnectionActor(input, clock, probe);
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { actor, clock, probe, errors };
}

/** `{ socket: 'live' }` → `socket.live`; written here so the tests do not reuse the code under test. */
function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [entry] = Object.entries(value as Record<string, unknown>);
  return entry ? `${entry[0]}.${nameOf(entry[1])}` : '';
}

// ---------------------------------------------------------------------------------------------
// The contract, independently of the machine
// ---------------------------------------------------------------------------------------------

const BACKOFF = { initialMs: 100, maxMs: 350 };

/** 100, 200, 350 (capped), 350, … */
function expectedDelay(attempt: number): number {
  let delay = BACKOFF.initialMs;
  for (let i = 0; i < attempt; i++) delay *= 2;
  return Math.min(BACKOFF.maxMs, delay);
}

interface Expected {
  readonly state: string;
  readonly context: Omit<ConnectionContext, 'backoff'>;
  /** The `replace` the snapshot is applied with, if this step applies one. */
  readonly replace?: boolean;
  /** The `resume` of the subscribe command this step sends, if it sends one. */
  readonly subscribe?: boolean;
  /** The machine's output once closed. */
  readonly output?: ConnectionError | null;
}

const failure = (code: string, message: string): ConnectionError => ({ code, message });

/** What `event` does in `state`; `null` when the state ignores it. */
function contract(state: string, c: ConnectionContext, event: Step): Expected | null {
  const ctx = { attempt: c.attempt, resume: c.resume, socketError: c.socketError, error: c.error };
  const closed = (error: ConnectionError | null, output: ConnectionError | null = error): Expected => ({
    state: 'closed',
    context: { ...ctx, error },
    output,
  });
  const backOff = (error: ConnectionError | null): Expected => ({
    state: 'backingOff',
    context: { ...ctx, error },
  });
  const subscribed = (): Expected['context'] => ({ ...ctx, attempt: 0, resume: true, error: null });
  if (state === 'closed') return null;
  if (event.type === 'CLOSE') return closed(c.error, null);
  if (state === 'backingOff') {
    if (event.type !== 'BACKOFF_ELAPSED') return null;
    return { state: 'socket.connecting', context: { ...ctx, attempt: c.attempt + 1, socketError: null } };
  }
  // Any state of the socket.
  switch (event.type) {
    case 'SOCKET_ERROR':
      return { state, context: { ...ctx, socketError: event.message } };
    case 'SOCKET_CLOSE':
      if (event.code === 4401 || (c.socketError ?? '').includes('401'))
        return closed(failure('unauthorized', event.reason || 'missing or wrong token'));
      if (event.code === 4008)
        return backOff(failure('too_slow', event.reason || 'subscriber fell behind; resuming'));
      if (c.socketError !== null) return backOff(failure('unreachable', c.socketError));
      return backOff(c.error);
    case 'OPEN_FAILED':
      return closed(failure('unreachable', event.message));
    case 'SOCKET_CRASH':
      return closed(failure('unreachable', 'socket crashed'));
    case 'BAD_MESSAGE':
      return backOff(failure('bad_response', 'server message does not match the protocol'));
    case 'REFUSED':
      return closed(event.error);
    case 'SERVER_ERROR':
      return { state, context: { ...ctx, error: event.error } };
  }
  switch (`${state} ${event.type}`) {
    case 'socket.connecting SOCKET_OPEN':
      return { state: 'socket.open', context: ctx, subscribe: c.resume };
    case 'socket.open SNAPSHOT':
    case 'socket.live SNAPSHOT': {
      const { resync } = event as Extract<Step, { type: 'SNAPSHOT' }>;
      return { state: 'socket.live', context: subscribed(), replace: resync || !c.resume };
    }
    case 'socket.open REPLY':
    case 'socket.live REPLY':
      return c.resume ? { state: 'socket.live', context: subscribed() } : null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------------------------

/** Internal event types of the machine: the reconnect timer and the socket actor's error. */
function internalEventTypes(): string[] {
  const types: string[] = [];
  const visit = (node: typeof connectionMachine.root) => {
    for (const type of node.transitions.keys()) if (type.startsWith('xstate.')) types.push(type);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(connectionMachine.root);
  return types;
}

const INTERNAL = internalEventTypes();
const BACKOFF_EVENT = INTERNAL.find((t) => t.startsWith('xstate.after.') && t.includes('backingOff'));
const CRASH_EVENT = INTERNAL.find((t) => t.startsWith('xstate.error.actor.'));

/** A step of a path on the real actor: an event from the socket or the caller, or the timer or a crash. */
type Step = ConnectionEvent | { readonly type: 'BACKOFF_ELAPSED' } | { readonly type: 'SOCKET_CRASH' };

const snapshot = { offset: 7, jobs: [] };

const EXTERNAL: ConnectionEvent[] = [
  { type: 'SOCKET_OPEN' },
  { type: 'SOCKET_ERROR', message: 'Unexpected server response: 401' },
  { type: 'SOCKET_ERROR', message: 'connect ECONNREFUSED 127.0.0.1:1' },
  { type: 'SOCKET_CLOSE', code: 1006, reason: '' },
  { type: 'SOCKET_CLOSE', code: 4008, reason: 'send buffer full' },
  { type: 'SOCKET_CLOSE', code: 4401, reason: '' },
  { type: 'OPEN_FAILED', message: 'no WebSocket implementation' },
  { type: 'SNAPSHOT', resync: false, snapshot },
  { type: 'SNAPSHOT', resync: true, snapshot },
  { type: 'REPLY' },
  { type: 'REFUSED', error: failure('invalid_request', 'Subscription "sub-1" already exists') },
  { type: 'SERVER_ERROR', error: failure('invalid_request', 'bad frame') },
  { type: 'BAD_MESSAGE' },
  { type: 'CLOSE' },
];

function graphEvents(): ConnectionEvent[] {
  const internal = [
    { type: BACKOFF_EVENT },
    { type: CRASH_EVENT, error: new Error('socket crashed') },
  ] as unknown as ConnectionEvent[];
  return [...EXTERNAL, ...internal];
}

/** A vertex: the state plus the context that changes what happens next (attempts up to 3). */
function vertex(s: Snapshot): string {
  const c = s.context;
  const socketError = c.socketError === null ? null : c.socketError.includes('401') ? '401' : 'other';
  return JSON.stringify([
    nameOf(s.value),
    Math.min(c.attempt, 3),
    c.resume,
    c.error?.code ?? null,
    socketError,
  ]);
}

function realStep(event: { type: string }): Step {
  if (event.type === BACKOFF_EVENT) return { type: 'BACKOFF_ELAPSED' };
  if (event.type === CRASH_EVENT) return { type: 'SOCKET_CRASH' };
  return event as Step;
}

function stepLabel(event: { type: string }): string {
  const step = realStep(event);
  switch (step.type) {
    case 'SOCKET_ERROR':
      return step.message.includes('401') ? 'SOCKET_ERROR(401)' : 'SOCKET_ERROR';
    case 'SOCKET_CLOSE':
      return `SOCKET_CLOSE(${step.code})`;
    case 'SNAPSHOT':
      return step.resync ? 'SNAPSHOT(resync)' : 'SNAPSHOT';
    default:
      return step.type;
  }
}

/** Applies a step to the real actor; the timer is reached with the clock, checking its delay. */
function applyStep(connection: Connection, step: Step): void {
  const { actor, clock } = connection;
  switch (step.type) {
    case 'BACKOFF_ELAPSED': {
      const delay = expectedDelay(actor.getSnapshot().context.attempt);
      clock.increment(delay - 1);
      expect(nameOf(actor.getSnapshot().value), `still backing off after ${delay - 1} ms`).toBe('backingOff');
      clock.increment(1);
      return;
    }
    case 'SOCKET_CRASH': {
      const child = actor.getSnapshot().children.socket;
      expect(child).toBeDefined();
      child!.send(CRASH as unknown as SocketCommand);
      return;
    }
    default:
      actor.send(step);
  }
}

const CONFIGS: Record<string, ConnectionInput> = {
  'a fresh subscription': { resume: false, backoff: BACKOFF },
  'resuming after a given offset': { resume: true, backoff: BACKOFF },
};

describe('connection machine graph', () => {
  it('the machine has the internal events the replay relies on', () => {
    expect(BACKOFF_EVENT).toBeDefined();
    expect(CRASH_EVENT).toBeDefined();
  });

  for (const [name, input] of Object.entries(CONFIGS)) {
    const paths = getShortestPaths(connectionMachine, { input, events: graphEvents, serializeState: vertex });

    describe(`shortest paths (${name})`, () => {
      it('reach every state, every attempt count and every way to close', () => {
        expect(new Set(paths.map((p) => nameOf(p.state.value)))).toEqual(
          new Set(['socket.connecting', 'socket.open', 'socket.live', 'backingOff', 'closed']),
        );
        expect(new Set(paths.map((p) => Math.min(p.state.context.attempt, 3)))).toEqual(
          new Set([0, 1, 2, 3]),
        );
        const closedWith = paths
          .filter((p) => nameOf(p.state.value) === 'closed')
          .map((p) => p.state.context.error?.code);
        for (const code of ['unauthorized', 'unreachable', 'invalid_request', undefined])
          expect(closedWith).toContain(code);
        expect(paths.length).toBeGreaterThan(50);
      });

      it.each(
        paths.map(
          (p) =>
            [
              p.steps
                .slice(1)
                .map((s) => stepLabel(s.event))
                .join(' → '),
              nameOf(p.state.value),
              p,
            ] as const,
        ),
      )('replays %s ⇒ %s on a real actor', (_title, _state, path) => {
        const connection = createConnection(input);
        const { actor, probe } = connection;
        const [init, ...steps] = path.steps;
        expect(init!.event.type).toBe('xstate.init');
        expect(vertex(actor.getSnapshot())).toBe(vertex(init!.state));
        expect(actor.getSnapshot().context).toEqual({
          attempt: 0,
          resume: input.resume,
          socketError: null,
          error: null,
          backoff: BACKOFF,
        });
        let expected: Expected | null = null;
        for (const graphStep of steps) {
          const before = actor.getSnapshot();
          const step = realStep(graphStep.event);
          const commands = probe.commands.length;
          const snapshots = probe.snapshots.length;
          expected = contract(nameOf(before.value), before.context, step);
          expect(expected, 'a shortest path takes only steps that change something').not.toBeNull();
          applyStep(connection, step);
          const after = actor.getSnapshot();
          expect(nameOf(after.value)).toBe(expected!.state);
          expect(after.context).toEqual({ ...expected!.context, backoff: BACKOFF });
          expect(vertex(after)).toBe(vertex(graphStep.state));
          // One socket exactly while in `socket`; leaving it closed the socket.
          expect(probe.live).toBe(nameOf(after.value).startsWith('socket.') ? 1 : 0);
          expect(probe.commands.slice(commands)).toEqual(
            expected!.subscribe === undefined ? [] : [{ type: 'SUBSCRIBE', resume: expected!.subscribe }],
          );
          expect(probe.snapshots.slice(snapshots)).toEqual(
            expected!.replace === undefined ? [] : [{ replace: expected!.replace }],
          );
        }
        const final = actor.getSnapshot();
        expect(nameOf(final.value)).toBe(nameOf(path.state.value));
        expect(final.status).toBe(nameOf(final.value) === 'closed' ? 'done' : 'active');
        if (final.status === 'done') {
          expect(final.output).toEqual(expected!.output);
          expect(connection.clock.pending.size, 'no reconnect timer is left').toBe(0);
        }
        // One socket per stay in `socket`: the first, and one per elapsed backoff.
        expect(probe.opened).toBe(1 + steps.filter((s) => s.event.type === BACKOFF_EVENT).length);
        expect(connection.errors).toEqual([]);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// What the graph leaves out: long runs of drops, and the defaults
// ---------------------------------------------------------------------------------------------

describe('connection machine', () => {
  const drop = { type: 'SOCKET_CLOSE', code: 1006, reason: '' } as const;

  /** Drops the socket and waits out the backoff; answers the delay the timer took. */
  function dropAndWait(connection: Connection): number {
    const { actor, clock } = connection;
    actor.send(drop);
    expect(nameOf(actor.getSnapshot().value)).toBe('backingOff');
    let waited = 0;
    while (nameOf(actor.getSnapshot().value) === 'backingOff') {
      expect(waited).toBeLessThan(100_000);
      clock.increment(1);
      waited++;
    }
    expect(nameOf(actor.getSnapshot().value)).toBe('socket.connecting');
    return waited;
  }

  it('backs off exponentially up to the cap, and from the start again once live', () => {
    const connection = createConnection({ resume: false, backoff: BACKOFF });
    const delays = [1, 2, 3, 4, 5].map(() => dropAndWait(connection));
    expect(delays).toEqual([100, 200, 350, 350, 350]);
    expect(connection.actor.getSnapshot().context.attempt).toBe(5);
    connection.actor.send({ type: 'SOCKET_OPEN' });
    connection.actor.send({ type: 'SNAPSHOT', resync: false, snapshot });
    expect(connection.actor.getSnapshot().context).toMatchObject({ attempt: 0, resume: true, error: null });
    expect([1, 2].map(() => dropAndWait(connection))).toEqual([100, 200]);
    expect(connection.probe.opened).toBe(8);
  });

  it('applies a first snapshot and a resync as the jobs, a resumed snapshot merged into its own', () => {
    const fresh = createConnection({ resume: false, backoff: BACKOFF });
    fresh.actor.send({ type: 'SOCKET_OPEN' });
    fresh.actor.send({ type: 'SNAPSHOT', resync: false, snapshot });
    fresh.actor.send({ type: 'SNAPSHOT', resync: false, snapshot });
    fresh.actor.send({ type: 'SNAPSHOT', resync: true, snapshot });
    expect(fresh.probe.snapshots).toEqual([{ replace: true }, { replace: false }, { replace: true }]);

    const resumed = createConnection({ resume: true, backoff: BACKOFF });
    resumed.actor.send({ type: 'SOCKET_OPEN' });
    resumed.actor.send({ type: 'SNAPSHOT', resync: true, snapshot });
    resumed.actor.send({ type: 'SNAPSHOT', resync: false, snapshot });
    expect(resumed.probe.snapshots).toEqual([{ replace: true }, { replace: false }]);
    expect(resumed.probe.commands).toEqual([{ type: 'SUBSCRIBE', resume: true }]);
  });

  it('keeps the error of a server message across a plain drop, until the next snapshot', () => {
    const { actor } = createConnection({ resume: true, backoff: BACKOFF });
    actor.send({ type: 'SOCKET_OPEN' });
    actor.send({ type: 'REPLY' });
    const error = failure('invalid_request', 'bad frame');
    actor.send({ type: 'SERVER_ERROR', error });
    actor.send(drop);
    expect(actor.getSnapshot().context.error).toBe(error);
    actor.send({ type: 'CLOSE' });
    expect(actor.getSnapshot()).toMatchObject({ status: 'done', output: null, context: { error } });
  });

  it('runs on its defaults: no socket, the backoff without jitter, and no input for a visualizer', () => {
    const clock = new SimulatedClock();
    // As a visualizer starts it: without input (which TypeScript callers must give).
    const actor = createActor(connectionMachine, { clock, input: undefined });
    actor.start();
    expect(actor.getSnapshot().context).toEqual({
      attempt: 0,
      resume: false,
      socketError: null,
      error: null,
      backoff: {},
    });
    actor.send({ type: 'SOCKET_OPEN' });
    actor.send({ type: 'SNAPSHOT', resync: false, snapshot });
    expect(nameOf(actor.getSnapshot().value)).toBe('socket.live');
    actor.send(drop);
    clock.increment(249);
    expect(nameOf(actor.getSnapshot().value)).toBe('backingOff');
    clock.increment(1);
    expect(nameOf(actor.getSnapshot().value)).toBe('socket.connecting');
    for (const attempt of [0, 1, 2, 5, 6, 40])
      expect(exponentialBackoff(attempt)).toBe(backoffDelay(attempt, { jitter: false }));
    expect(exponentialBackoff(6)).toBe(10_000);
  });

  it('is data a visualizer can load: JSON, and a diagram with every way in and out of `socket`', () => {
    const json = toJSON(connectionMachine);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    const diagram = toMermaid(connectionMachine);
    for (const edge of [
      'socket_connecting --> socket_open : SOCKET_OPEN',
      'socket_open --> socket_live : SNAPSHOT',
      'socket_open --> socket_live : REPLY [isResuming]',
      'socket --> closed : SOCKET_CLOSE [isUnauthorized]',
      'socket --> backingOff : SOCKET_CLOSE [isTooSlow]',
      'socket --> backingOff : BAD_MESSAGE',
      'socket --> closed : REFUSED',
      'backingOff --> socket : after reconnectDelay',
    ])
      expect(diagram).toContain(edge);
  });

  it('reads the close codes the protocol defines', () => {
    expect(CONNECTION_CLOSE_CODES).toEqual({
      unauthorized: CLOSE_CODES.unauthorized,
      tooSlow: CLOSE_CODES.tooSlow,
    });
  });
});
