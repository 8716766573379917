/**
 * Model-based tests of the relay machine (machines/relay.machine.ts).
 *
 * Every shortest path of the machine's graph (xstate/graph; the `after` timers included as
 * their internal events) is replayed on a real actor on a SimulatedClock, the socket events
 * coming from the invoked socket actor as they do in the relay. Each step is checked against an
 * oracle of the contract written independently of the machine: the state, the attempt counter,
 * the delay chosen for the backoff, the status reports, which socket lives and what it was told,
 * the pending timers, and that `closed` is final. The machine's own delays are used throughout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, type AnyEventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  relayMachine,
  type RelayEvent,
  type RelaySocketCommand,
  type RelayStatusEmit,
} from '../machines/index.js';
import { RecordingClock } from './recording-clock.js';

type Snapshot = ReturnType<ReturnType<typeof createActor<typeof relayMachine>>['getSnapshot']>;

// ---------------------------------------------------------------------------------------------
// The harness: a real actor on a clock that records its timers, a socket actor that records
// ---------------------------------------------------------------------------------------------

interface FakeSocket {
  readonly sendBack: (event: AnyEventObject) => void;
  readonly commands: RelaySocketCommand['type'][];
  stopped: boolean;
}

function createRelay() {
  const clock = new RecordingClock();
  const sockets: FakeSocket[] = [];
  const kept: string[] = [];
  let discarded = 0;
  const machine = relayMachine.provide({
    actors: {
      socket: fromCallback<RelaySocketCommand>(({ sendBack, receive }) => {
        const socket: FakeSocket = { sendBack, commands: [], stopped: false };
        sockets.push(socket);
        receive((command) => socket.commands.push(command.type));
        return () => {
          socket.stopped = true;
        };
      }),
    },
    actions: {
      keepFrame: ({ event }) => void kept.push((event as Extract<RelayEvent, { type: 'FRAME' }>).frame),
      discardFrames: () => void discarded++,
    },
  });
  const actor = createActor(machine, { clock });
  const statuses: string[] = [];
  actor.on('status', (e: RelayStatusEmit) =>
    statuses.push(e.error ? `${e.status}: ${e.error.message}` : e.status),
  );
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return {
    actor,
    clock,
    sockets,
    kept,
    statuses,
    errors,
    get discarded() {
      return discarded;
    },
    /** The socket actor alive now (there is at most one). */
    live(): FakeSocket | undefined {
      const alive = sockets.filter((s) => !s.stopped);
      expect(alive.length).toBeLessThanOrEqual(1);
      return alive[0];
    },
  };
}

type Relay = ReturnType<typeof createRelay>;

function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [entry] = Object.entries(value as Record<string, unknown>);
  return entry ? `${entry[0]}.${nameOf(entry[1])}` : '';
}

/** The backoff of the contract: 250 ms doubling per attempt up to 10 s, jittered to [base/2, base]. */
function backoffBounds(attempt: number): [number, number] {
  const base = Math.min(10_000, 250 * 2 ** attempt);
  return [Math.round(base / 2), base];
}

// ---------------------------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------------------------

function internalEventTypes(): string[] {
  const types: string[] = [];
  const visit = (node: typeof relayMachine.root) => {
    for (const type of node.transitions.keys()) if (type.startsWith('xstate.')) types.push(type);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(relayMachine.root);
  return types;
}

const INTERNAL = internalEventTypes();
const BACKOFF_EVENT = INTERNAL.find((t) => t.startsWith('xstate.after.') && t.includes('backingOff'));
const CLOSE_TIMEOUT_EVENT = INTERNAL.find((t) => t.startsWith('xstate.after.') && t.includes('closing'));

const ERROR = new Error('connect ECONNREFUSED');

const FRAME: Extract<RelayEvent, { type: 'FRAME' }> = { type: 'FRAME', frame: '{"n":1}' };

const RELAY_EVENTS: RelayEvent[] = [
  { type: 'SOCKET_OPEN' },
  { type: 'SOCKET_ERROR', error: ERROR },
  { type: 'SOCKET_CLOSED' },
  FRAME,
  { type: 'CLOSE' },
];

/** The events of the graph: the machine's own, and its timers as the internal events they raise. */
const GRAPH_EVENTS = [
  ...RELAY_EVENTS,
  ...[BACKOFF_EVENT, CLOSE_TIMEOUT_EVENT].map((type) => ({ type }) as unknown as RelayEvent),
];

/**
 * A vertex: the state, the attempt counter (capped, so the graph is finite), the status reported,
 * and the transition that led there (from which state, on which event), so that every
 * transition the machine takes is on some path.
 */
function vertex(snapshot: Snapshot, event?: { type: string }, previous?: Snapshot): string {
  const { attempt, reported } = snapshot.context;
  const via =
    event === undefined || previous === undefined ? 'start' : `${nameOf(previous.value)} ${kindOf(event)}`;
  return JSON.stringify([nameOf(snapshot.value), Math.min(attempt, 2), reported, via]);
}

const paths = getShortestPaths(relayMachine, {
  // Only the events the state takes; every other one must change nothing (checked per vertex below).
  events: (snapshot) => GRAPH_EVENTS.filter((event) => snapshot.can(event)),
  serializeState: (snapshot, event, previous) => vertex(snapshot, event, previous),
});

type StepKind =
  'SOCKET_OPEN' | 'SOCKET_ERROR' | 'SOCKET_CLOSED' | 'CLOSE' | 'FRAME' | 'backoff' | 'closeTimeout';

function kindOf(event: { type: string }): StepKind {
  if (event.type === BACKOFF_EVENT) return 'backoff';
  if (event.type === CLOSE_TIMEOUT_EVENT) return 'closeTimeout';
  return event.type as StepKind;
}

// ---------------------------------------------------------------------------------------------
// The oracle: the contract, written without looking at the machine
// ---------------------------------------------------------------------------------------------

interface Model {
  readonly state: 'live.connecting' | 'live.open' | 'live.closing' | 'backingOff' | 'closed';
  readonly attempt: number;
  readonly reported: 'open' | 'down' | null;
  readonly statuses: readonly string[];
  /** Sockets opened so far; the last one is alive while the state is under `live`. */
  readonly sockets: number;
  /** What the socket alive now was told. */
  readonly commands: readonly RelaySocketCommand['type'][];
  /** The frames handed to `keepFrame`. */
  readonly kept: readonly string[];
}

const INITIAL: Model = {
  state: 'live.connecting',
  attempt: 0,
  reported: null,
  statuses: [],
  sockets: 1,
  commands: [],
  kept: [],
};

function down(m: Model, withError: boolean): Partial<Model> {
  if (m.reported === 'down') return {};
  return { reported: 'down', statuses: [...m.statuses, withError ? `down: ${ERROR.message}` : 'down'] };
}

function expected(m: Model, kind: StepKind, frame = FRAME.frame): Model {
  const live = m.state.startsWith('live.');
  switch (kind) {
    case 'SOCKET_OPEN':
      if (m.state !== 'live.connecting') return m;
      return {
        ...m,
        state: 'live.open',
        attempt: 0,
        reported: 'open',
        statuses: [...m.statuses, 'open'],
        commands: [...m.commands, 'FLUSH'],
      };
    case 'SOCKET_ERROR':
      return live && m.state !== 'live.closing' ? { ...m, ...down(m, true) } : m;
    case 'SOCKET_CLOSED':
      if (m.state === 'live.closing') return { ...m, state: 'closed', commands: [] };
      return live ? { ...m, ...down(m, false), state: 'backingOff', commands: [] } : m;
    case 'CLOSE':
      if (m.state === 'backingOff') return { ...m, state: 'closed' };
      if (m.state === 'live.connecting' || m.state === 'live.open')
        return { ...m, state: 'live.closing', commands: [...m.commands, 'CLOSE_SOCKET'] };
      return m;
    case 'FRAME':
      if (m.state === 'live.open')
        return { ...m, kept: [...m.kept, frame], commands: [...m.commands, 'FLUSH'] };
      return m.state === 'live.connecting' || m.state === 'backingOff'
        ? { ...m, kept: [...m.kept, frame] }
        : m;
    case 'backoff':
      return m.state === 'backingOff'
        ? { ...m, state: 'live.connecting', attempt: m.attempt + 1, sockets: m.sockets + 1 }
        : m;
    case 'closeTimeout':
      return m.state === 'live.closing' ? { ...m, state: 'closed', commands: [] } : m;
  }
}

/** Performs one step on the real actor: socket events come from the live socket actor, timers from the clock. */
function perform(relay: Relay, kind: StepKind, graphEvent: AnyEventObject): void {
  const name = () => nameOf(relay.actor.getSnapshot().value);
  switch (kind) {
    case 'SOCKET_OPEN':
    case 'SOCKET_ERROR':
    case 'SOCKET_CLOSED': {
      const socket = relay.live();
      if (socket) socket.sendBack(graphEvent);
      else relay.actor.send(graphEvent as RelayEvent); // no socket to send it: must be ignored
      return;
    }
    case 'CLOSE':
    case 'FRAME':
      relay.actor.send(graphEvent as RelayEvent);
      return;
    case 'backoff': {
      const [low, high] = backoffBounds(relay.actor.getSnapshot().context.attempt);
      const delay = relay.clock.delays.at(-1)!;
      expect(delay).toBeGreaterThanOrEqual(low);
      expect(delay).toBeLessThanOrEqual(high);
      relay.clock.increment(delay - 1);
      expect(name()).toBe('backingOff');
      relay.clock.increment(1);
      return;
    }
    case 'closeTimeout':
      expect(relay.clock.delays.at(-1)).toBe(1_000);
      relay.clock.increment(999);
      expect(name()).toBe('live.closing');
      relay.clock.increment(1);
      return;
  }
}

function expectMatches(relay: Relay, m: Model): void {
  const snapshot = relay.actor.getSnapshot();
  expect(nameOf(snapshot.value)).toBe(m.state);
  expect(snapshot.context).toEqual({ attempt: m.attempt, reported: m.reported });
  expect(relay.statuses).toEqual(m.statuses);
  expect(relay.sockets).toHaveLength(m.sockets);
  expect(relay.kept).toEqual(m.kept);
  const live = relay.live();
  if (m.state.startsWith('live.')) {
    expect(live).toBe(relay.sockets.at(-1));
    expect(live!.commands).toEqual(m.commands);
  } else {
    expect(live).toBeUndefined();
  }
  // One timer while backing off or closing; none otherwise (leaving a state clears its timer).
  expect(relay.clock.pending.size).toBe(m.state === 'backingOff' || m.state === 'live.closing' ? 1 : 0);
  expect(snapshot.status).toBe(m.state === 'closed' ? 'done' : 'active');
  expect(relay.discarded).toBe(m.state === 'closed' ? 1 : 0);
  expect(relay.errors).toEqual([]);
}

/** Replays a path on a fresh actor, checking every step; returns the relay and the oracle's model. */
function replay(path: (typeof paths)[number]): { relay: Relay; model: Model } {
  const relay = createRelay();
  const [init, ...steps] = path.steps;
  expect(init!.event.type).toBe('xstate.init');
  expect(vertex(relay.actor.getSnapshot())).toBe(vertex(init!.state));
  let model = INITIAL;
  expectMatches(relay, model);
  let previous = init!.state;
  for (const step of steps) {
    const kind = kindOf(step.event);
    const before = relay.actor.getSnapshot();
    expect(relay.live()).toBe(
      before.value === 'backingOff' || before.status === 'done' ? undefined : relay.sockets.at(-1),
    );
    perform(relay, kind, step.event);
    model = expected(model, kind);
    expect(vertex(relay.actor.getSnapshot(), step.event, before)).toBe(
      vertex(step.state, step.event, previous),
    );
    expectMatches(relay, model);
    previous = step.state;
  }
  return { relay, model };
}

const title = (path: (typeof paths)[number]) =>
  path.steps
    .slice(1)
    .map((s) => kindOf(s.event))
    .join(' → ') || '(start)';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('relay machine graph', () => {
  it('has the internal events the replay relies on', () => {
    expect(BACKOFF_EVENT).toBeDefined();
    expect(CLOSE_TIMEOUT_EVENT).toBeDefined();
  });

  it('reaches every state, every attempt up to the cap and every report', () => {
    const reached = new Set(paths.map((p) => nameOf(p.state.value)));
    expect([...reached].sort()).toEqual([
      'backingOff',
      'closed',
      'live.closing',
      'live.connecting',
      'live.open',
    ]);
    const seen = new Set(
      paths.map((p) =>
        JSON.stringify([nameOf(p.state.value), p.state.context.attempt, p.state.context.reported]),
      ),
    );
    for (const attempt of [0, 1, 2]) expect(seen).toContain(JSON.stringify(['backingOff', attempt, 'down']));
    expect(seen).toContain(JSON.stringify(['live.open', 0, 'open']));
    expect(seen).toContain(JSON.stringify(['live.connecting', 2, 'down']));
  });

  // A SOCKET_ERROR or CLOSE while closing, like any event a state does not take, changes nothing:
  // checked at every vertex below.
  it('takes every transition of the contract on some path', () => {
    const taken = new Set<string>();
    for (const path of paths)
      for (let i = 1; i < path.steps.length; i++)
        taken.add(`${nameOf(path.steps[i - 1]!.state.value)} ${kindOf(path.steps[i]!.event)}`);
    expect([...taken].sort()).toEqual(
      [
        'live.connecting SOCKET_OPEN',
        'live.connecting SOCKET_ERROR',
        'live.connecting SOCKET_CLOSED',
        'live.connecting CLOSE',
        'live.connecting FRAME',
        'live.open SOCKET_ERROR',
        'live.open SOCKET_CLOSED',
        'live.open CLOSE',
        'live.open FRAME',
        'live.closing SOCKET_CLOSED',
        'live.closing closeTimeout',
        'backingOff backoff',
        'backingOff CLOSE',
        'backingOff FRAME',
      ].sort(),
    );
  });

  it.each(paths.map((p) => [title(p), nameOf(p.state.value), p] as const))(
    'replays %s ⇒ %s on a real actor',
    (_title, _state, path) => {
      const { relay, model } = replay(path);
      expect(nameOf(relay.actor.getSnapshot().value)).toBe(model.state);
    },
  );

  it.each(paths.map((p) => [title(p), nameOf(p.state.value), p] as const))(
    'after %s (%s), each event does what the contract says, an ignored one nothing',
    (_title, _state, path) => {
      for (const event of RELAY_EVENTS) {
        const { relay, model } = replay(path);
        const before = relay.actor.getSnapshot();
        const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        const frame = event.type === 'FRAME' ? '{"n":7}' : undefined;
        perform(relay, event.type, frame ? { type: 'FRAME', frame } : event);
        warn.mockRestore();
        const next = expected(model, event.type, frame);
        expectMatches(relay, next);
        if (next === model) {
          const after = relay.actor.getSnapshot();
          expect([after.value, after.context, after.status]).toEqual([
            before.value,
            before.context,
            before.status,
          ]);
        }
      }
    },
  );
});

describe('relay machine scenarios', () => {
  it('backs off 250 ms doubling up to 10 s, the attempt counted; an open socket resets it', () => {
    const relay = createRelay();
    const fail = () => {
      relay.live()!.sendBack({ type: 'SOCKET_ERROR', error: ERROR });
      relay.live()!.sendBack({ type: 'SOCKET_CLOSED' });
    };
    const chosen: number[] = [];
    vi.spyOn(Math, 'random').mockReturnValue(1); // no jitter: the delay is the base
    for (let i = 0; i < 8; i++) {
      fail();
      expect(relay.actor.getSnapshot().context.attempt).toBe(i);
      chosen.push(relay.clock.delays.at(-1)!);
      relay.clock.increment(chosen.at(-1)!);
      expect(nameOf(relay.actor.getSnapshot().value)).toBe('live.connecting');
    }
    expect(chosen).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(relay.actor.getSnapshot().context.attempt).toBe(8);

    relay.live()!.sendBack({ type: 'SOCKET_OPEN' });
    expect(relay.actor.getSnapshot().context).toEqual({ attempt: 0, reported: 'open' });
    vi.spyOn(Math, 'random').mockReturnValue(0); // the most jitter: half the base
    relay.live()!.sendBack({ type: 'SOCKET_CLOSED' });
    expect(relay.clock.delays.at(-1)).toBe(125);
    expect(relay.statuses).toEqual([`down: ${ERROR.message}`, 'open', 'down']);
    expect(relay.sockets).toHaveLength(9);
    expect(relay.errors).toEqual([]);
  });

  it('a final `closed` ignores every event and keeps no timer', () => {
    const relay = createRelay();
    relay.live()!.sendBack({ type: 'SOCKET_CLOSED' });
    relay.actor.send({ type: 'CLOSE' });
    const done = relay.actor.getSnapshot();
    expect(done.status).toBe('done');
    vi.spyOn(console, 'warn').mockImplementation(() => undefined); // xstate's "sent to stopped actor"
    for (const event of RELAY_EVENTS) relay.actor.send(event);
    relay.clock.increment(60_000);
    expect(relay.actor.getSnapshot()).toBe(done);
    expect(relay.clock.pending.size).toBe(0);
    expect(relay.sockets).toHaveLength(1);
    expect(relay.kept).toEqual([]);
  });

  it('with its defaults, the machine never connects and closes after the close timeout', () => {
    const clock = new RecordingClock();
    const actor = createActor(relayMachine, { clock }).start();
    expect(nameOf(actor.getSnapshot().value)).toBe('live.connecting');
    actor.send({ type: 'FRAME', frame: '{}' });
    actor.send({ type: 'CLOSE' });
    expect(nameOf(actor.getSnapshot().value)).toBe('live.closing');
    clock.increment(999);
    expect(actor.getSnapshot().status).toBe('active');
    clock.increment(1);
    expect(actor.getSnapshot()).toMatchObject({ value: 'closed', status: 'done' });
  });
});
