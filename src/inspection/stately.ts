/**
 * Inspection events as the frames of `@statelyai/inspect` 0.7.2's WebSocket inspector (its
 * `convertXStateEvent`, then its serialiser): `@xstate.actor`, `@xstate.event` and
 * `@xstate.snapshot`; other `@xstate.*` events have no frame. A `@jobvisor.rejected` event becomes
 * an `@xstate.event` of type `jobvisor.rejected` on the job's session, so the Stately Inspector
 * lists it with the job's events. Frames are plain JSON data; `encodeStatelyFrame` writes the text.
 */
import type { AnyEventObject } from 'xstate';
import { RawJson, safeJson, statelyReplacer, toJsonSafe, type Replacer } from './safe-json.js';
import type { JobvisorInspectionEvent } from './types.js';

/** The `@statelyai/inspect` version whose wire format the frames follow. */
export const STATELY_INSPECT_VERSION = '0.7.2';

/** `@statelyai/inspect` serialises 10 levels deep; a frame's payload sits one level down. */
const FRAME_DEPTH = 10;
const PAYLOAD = { maxDepth: FRAME_DEPTH - 1 } as const;

interface FrameBase {
  readonly sessionId: string;
  readonly rootId: string | undefined;
  readonly createdAt: string;
  readonly id: null;
  readonly _version: string;
}

export interface StatelyActorFrame extends FrameBase {
  readonly type: '@xstate.actor';
  readonly name: string;
  /** The machine config as a JSON text (functions as `{ type: name }`), or `{"id":name}`. */
  readonly definition: string | undefined;
  readonly parentId: string | undefined;
  readonly snapshot: unknown;
}

export interface StatelyEventFrame extends FrameBase {
  readonly type: '@xstate.event';
  readonly event: unknown;
  readonly sourceId: string | undefined;
}

export interface StatelySnapshotFrame extends FrameBase {
  readonly type: '@xstate.snapshot';
  readonly event: unknown;
  readonly snapshot: unknown;
}

export type StatelyFrame = StatelyActorFrame | StatelyEventFrame | StatelySnapshotFrame;

/** What the frames read of an actor ref (XState's `Actor` has all of it). */
interface InspectedActor {
  readonly id?: string;
  readonly sessionId: string;
  readonly logic?: { readonly config?: unknown };
  readonly _parent?: { readonly sessionId: string };
  getSnapshot(): unknown;
}

/** The frame of one event, or undefined for events the Stately inspector does not take. */
export function toStatelyFrame(event: JobvisorInspectionEvent): StatelyFrame | undefined {
  return frameOf(event, (value, replacer) => toJsonSafe(value, { ...PAYLOAD, replacer }));
}

/** The frame's text, or undefined when the event has none. Payloads are written once. */
export function toStatelyJson(event: JobvisorInspectionEvent): string | undefined {
  const frame = frameOf(event, (value, replacer) => {
    const text = safeJson(value, { ...PAYLOAD, replacer });
    return text === undefined ? undefined : new RawJson(text);
  });
  return frame && encodeStatelyFrame(frame);
}

/** The JSON text of a frame, keys sorted as `@statelyai/inspect` writes them. */
export function encodeStatelyFrame(frame: StatelyFrame): string {
  return safeJson(frame, { maxDepth: FRAME_DEPTH }) ?? 'null';
}

/** Writes a payload (an event, a snapshot) one level down in the frame. */
type Payload = (value: unknown, replacer?: Replacer) => unknown;

function frameOf(event: JobvisorInspectionEvent, payload: Payload): StatelyFrame | undefined {
  const base = { createdAt: String(Date.now()), id: null, _version: STATELY_INSPECT_VERSION } as const;
  switch (event.type) {
    case '@xstate.actor': {
      const actor = event.actorRef as unknown as InspectedActor;
      const config = actor.logic?.config;
      let name = actor.id ?? actor.sessionId;
      if (name === actor.sessionId && isConfig(config)) name = config.id;
      const definition =
        typeof config === 'object' && config !== null ? definitionOf(config) : writeDefinition({ id: name });
      return {
        name,
        type: '@xstate.actor',
        definition,
        ...base,
        rootId: event.rootId,
        parentId: actor._parent?.sessionId,
        sessionId: actor.sessionId,
        snapshot: payload(readSnapshot(actor)),
      };
    }
    case '@xstate.event':
      return {
        type: '@xstate.event',
        event: payload(event.event),
        sourceId: event.sourceRef?.sessionId,
        sessionId: event.actorRef.sessionId,
        ...base,
        rootId: event.rootId,
      };
    case '@xstate.snapshot':
      return {
        type: '@xstate.snapshot',
        event: payload(event.event),
        snapshot: payload(event.snapshot, statelyReplacer) ?? null,
        sessionId: event.actorRef.sessionId,
        ...base,
        rootId: event.rootId,
      };
    case '@jobvisor.rejected': {
      const { rejection } = event;
      const payload: AnyEventObject = {
        type: 'jobvisor.rejected',
        reason: rejection.reason,
        state: rejection.state,
        rejected: rejection.event,
        source: rejection.source,
        attempt: rejection.attempt,
      };
      return {
        type: '@xstate.event',
        event: payload,
        sourceId: undefined,
        sessionId: event.rootId,
        ...base,
        rootId: event.rootId,
      };
    }
    default:
      return undefined;
  }
}

/** Machine configs are shared by every actor of a machine: each is written once. */
const definitions = new WeakMap<object, string | undefined>();

function definitionOf(config: object): string | undefined {
  if (!definitions.has(config)) definitions.set(config, writeDefinition(config));
  return definitions.get(config);
}

function writeDefinition(config: unknown): string | undefined {
  return safeJson(config, { maxDepth: FRAME_DEPTH, replacer: statelyReplacer });
}

function isConfig(config: unknown): config is { id: string } {
  return typeof config === 'object' && config !== null && typeof (config as { id?: unknown }).id === 'string';
}

function readSnapshot(actor: InspectedActor): unknown {
  try {
    return actor.getSnapshot();
  } catch {
    return { status: 'active' };
  }
}
