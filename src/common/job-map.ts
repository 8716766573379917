/**
 * Typed jobs: the map of job types a supervisor carries in its type, built by chaining `register`,
 * so that `start` is checked against the type's input schema at compile time and `waitFor` (and the
 * client's `start`) answer with that type's input and result types. Types only: nothing here runs.
 *
 *   const supervisor = createSupervisor()
 *     .register('report', (ctx) => ({ rows: ctx.input.month.length }), { input: z.object({ month: z.string() }) });
 *   const { job } = await supervisor.start({ type: 'report', input: { month: '2026-10' } }); // checked
 *   const done = await supervisor.waitFor(job); // done.result: { rows: number } | null
 *   const client = createClient<JobTypesOf<typeof supervisor>>({ url }); // the same map, over HTTP
 *
 * A supervisor whose `register` calls were not chained keeps the empty map, and with it the untyped
 * `start`: any type name, any input, `unknown` results — what every `start` was before. Once a
 * type is in the map, a `start` of a type not in it does not compile. Inputs are still validated
 * at run time.
 */
import type { ScheduleOptions } from './repeatable.js';
import type { JobView } from './types.js';

/** One job type: what `start` takes (`input`), what the handler and the job hold (`parsed`), what it returns. */
export interface JobTypeShape {
  readonly input: unknown;
  readonly parsed: unknown;
  readonly result: unknown;
}

/** What a map of job types is made of. */
export type AnyJobTypes = Record<string, JobTypeShape>;

/** The map of a supervisor that was not given its types: every `start` compiles, as before typed jobs. */
export type NoJobTypes = Record<never, never>;

/** The map after registering `T` (an intersection: a typed supervisor is still a `Supervisor`). */
export type WithJobType<M extends AnyJobTypes, T extends string, In, Out, R> = M & {
  readonly [K in T]: { readonly input: In; readonly parsed: Out; readonly result: R };
};

/** `R` while `M` names no job type (an untyped supervisor), else `never`: the untyped calls' parameters. */
export type IfUntyped<M extends AnyJobTypes, R> = [keyof M] extends [never] ? R : never;

/** The names of the job types of `M`. */
export type JobTypeName<M extends AnyJobTypes> = keyof M & string;

/** A start of a job of type `K`: its input required unless the type's schema accepts none. */
/** `schedule(name, options)` of a typed supervisor: its occurrences' input checked against the type. */
export type TypedScheduleOptions<M extends AnyJobTypes, K extends JobTypeName<M>> = Omit<
  ScheduleOptions,
  'type' | 'input'
> &
  Pick<TypedStartRequest<M, K>, 'type' | 'input'>;

export type TypedStartRequest<M extends AnyJobTypes, K extends JobTypeName<M>> = {
  readonly type: K;
  readonly key?: string;
  readonly onConflict?: 'join' | 'reject' | 'replace';
  /** Higher starts first; FIFO within one priority. */
  readonly priority?: number;
  /** A delayed job: not started before this time (ms since the epoch, a `Date`, an ISO string). */
  readonly runAt?: number | string | Date;
  /** A delayed job: not started before this many ms from now (not with `runAt`). */
  readonly delayMs?: number;
} & (undefined extends M[K]['input']
  ? { readonly input?: M[K]['input'] }
  : { readonly input: M[K]['input'] });

/** A start of any job type of `M` (a batch's item): the union of each type's typed start. */
export type AnyTypedStartRequest<M extends AnyJobTypes> = {
  [K in JobTypeName<M>]: TypedStartRequest<M, K>;
}[JobTypeName<M>];

/** A job of type `K` as readers see it: its parsed input and its handler's result (and `type`, for `waitFor`). */
export type TypedJobView<M extends AnyJobTypes, K extends JobTypeName<M>> = JobView<
  M[K]['parsed'],
  M[K]['result']
> & { readonly type: K };

/** What `start` answers for a job of type `K`. */
export interface TypedStartResult<M extends AnyJobTypes, K extends JobTypeName<M>> {
  readonly job: TypedJobView<M, K>;
  readonly deduplicated: boolean;
}
