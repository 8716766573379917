/**
 * A fresh job's initial snapshot without XState's initial macrostep.
 *
 * Every fresh job (one not restored from a store, and not delayed) starts the same way: `pending.queued`, its
 * context built from its input by `initialContext`, no entry action, and neither `always` of
 * `queued` enabled (a fresh job was not interrupted and waits for no retry). XState works that out
 * again for every actor — the init event, the pre-initial context, the initial microstep, the
 * eventless transitions, the state value and tags — about 15 µs per job, some 6 % of an
 * in-memory job's time. Here it is worked out once per machine, by XState itself (its pure
 * `initialTransition`), and each fresh actor gets a copy of that snapshot with its own context.
 *
 * The actor's logic is an object whose prototype is the machine and whose only own property is
 * this `getInitialSnapshot`: every transition after that is the machine's own, every snapshot
 * names the machine, and inspection sees the same events (the init event and the first snapshot
 * come from `Actor.start`, as before). A restored job still takes XState's path: its `always`
 * transitions decide what it does first. test/fresh-snapshot.test.ts holds the copy equal to
 * XState's own initial snapshot for arbitrary fresh inputs.
 */
import { initialTransition } from 'xstate';
import { initialContext, isScheduled } from '../../machines/job.context.js';
import type { JobMachine } from '../../machines/job.machine.js';
import type { JobInput } from '../../machines/job.types.js';
import type { JobSnapshot } from './job-view.js';

const SAMPLE: JobInput = {
  id: 'fresh-snapshot-template',
  type: 'template',
  key: null,
  input: null,
  retry: { maxRetries: 0, backoffMs: 0, factor: 1, maxBackoffMs: 0 },
  heartbeatTimeoutMs: 1,
  timeoutMs: null,
  createdAt: 0,
};

const cache = new WeakMap<JobMachine, JobMachine>();

/**
 * The logic to create a fresh job's actor from: `machine`, with its initial snapshot copied from
 * one worked out once. Restored inputs, delayed ones (their initial step enters `pending.scheduled`)
 * and a machine whose initial step would act go the usual way.
 */
export function freshJobLogic(machine: JobMachine): JobMachine {
  let logic = cache.get(machine);
  if (!logic) {
    logic = withCopiedInitialSnapshot(machine);
    cache.set(machine, logic);
  }
  return logic;
}

function withCopiedInitialSnapshot(machine: JobMachine): JobMachine {
  // XState's own initial step (pure: no actor is made), with the actions it would run.
  const [template, actions] = initialTransition(machine, SAMPLE);
  // An initial step that acts, or ends anywhere but in a plain waiting state, is not copied.
  const quiet =
    template.status === 'active' &&
    actions.length === 0 &&
    Object.keys(template.children).length === 0 &&
    JSON.stringify(template.context) === JSON.stringify(initialContext(SAMPLE));
  if (!quiet) return machine;
  const initial = machine.getInitialSnapshot.bind(machine);
  const copy = copier(template);
  const getInitialSnapshot: JobMachine['getInitialSnapshot'] = (scope, input) =>
    input === undefined || input.restore || isScheduled(input) ? initial(scope, input) : copy(input);
  return Object.create(machine, { getInitialSnapshot: { value: getInitialSnapshot } }) as JobMachine;
}

/**
 * The keys of XState's snapshots in the order its `createMachineSnapshot` writes them. A copy
 * written as an object literal in this order has the hidden class (V8) of every later snapshot of
 * the actor, so XState's code sees one shape of snapshot, not two (a spread copy has a map of its
 * own: the START after it ran measurably slower).
 */
export const SNAPSHOT_KEYS =
  'status,output,error,machine,context,_nodes,value,tags,children,historyValue,matches,hasTag,can,getMeta,toJSON';

/**
 * Copies of the template, each with the job's own context and its own (empty) children and
 * history. Written key by key when the template's keys are in the order above; else (another
 * XState) spread, which is as correct and only slower.
 */
function copier(template: JobSnapshot): (input: JobInput) => JobSnapshot {
  if (Object.keys(template).join(',') !== SNAPSHOT_KEYS)
    return (input) => ({ ...template, context: initialContext(input), children: {}, historyValue: {} });
  const t = template;
  // A literal of the union type's members: the template's own status (active), as TypeScript cannot tell.
  return (input) =>
    ({
      status: t.status,
      output: t.output,
      error: t.error,
      machine: t.machine,
      context: initialContext(input),
      _nodes: t._nodes,
      value: t.value,
      tags: t.tags,
      children: {},
      historyValue: {},
      matches: t.matches,
      hasTag: t.hasTag,
      can: t.can,
      getMeta: t.getMeta,
      toJSON: t.toJSON,
    }) as JobSnapshot;
}
