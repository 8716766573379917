/** The public surface of `jobvisor`: named exports only. */
export { createSupervisor, Supervisor } from './supervisor/supervisor.js';
export type { JobTypesOf } from './supervisor/supervisor.js';
export type {
  AnyJobTypes,
  JobTypeName,
  JobTypeShape,
  NoJobTypes,
  TypedJobView,
  TypedStartRequest,
  TypedStartResult,
  WithJobType,
} from './common/job-map.js';
export { JobvisorError, JobFailure, ERROR_CODES, JOB_ERROR_CODES } from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
export { systemClock } from './common/clock.js';
export type { Clock } from './common/clock.js';
export { DEFAULTS } from './supervisor/options.js';
export { memoryStore } from './store/memory.js';
export type {
  ChangeDraft,
  JobRecord,
  JobRecordDraft,
  JobStore,
  ListQuery,
  LogLineDraft,
  LogStore,
  Page,
  ScheduleRecord,
  ScheduleStore,
  StoredChange,
  StoreSnapshot,
} from './store/port.js';
export type { StoreHealth } from './common/types.js';
export type {
  SupervisorOptions,
  RegisterOptions,
  StartRequest,
  WorkerHandler,
} from './supervisor/options.js';
export type { Unsubscribe } from './common/emitter.js';
export {
  encodeStatelyFrame,
  STATELY_INSPECT_VERSION,
  toStatelyFrame,
  toStatelyJson,
} from './inspection/stately.js';
export type {
  StatelyActorFrame,
  StatelyEventFrame,
  StatelyFrame,
  StatelySnapshotFrame,
} from './inspection/stately.js';
export type { InspectionSelection, InspectOption } from './inspection/selection.js';
export type {
  CancelManyRequest,
  CancelManyResult,
  RemoveManyRequest,
  RemoveManyResult,
  RetryManyRequest,
  RetryManyResult,
  StartManyItem,
  StartManyResult,
} from './supervisor/bulk.js';
export { MAX_BULK } from './supervisor/bulk.js';
export type { PauseState } from './supervisor/pauses.js';
export type { FollowLogs, LogPage, LogQuery } from './supervisor/job-logs.js';
export type { MissedPolicy, ScheduleOptions, ScheduleSpec, ScheduleView } from './common/repeatable.js';
export type { TypedScheduleOptions } from './common/job-map.js';
export type {
  InspectionObserver,
  JobvisorInspectionEvent,
  JobvisorRejectedEvent,
} from './inspection/types.js';
export type {
  CancelResult,
  ChangeKind,
  EventSource,
  Handler,
  HandlerContext,
  HandlerDurations,
  JobChange,
  JobErrorInfo,
  JobLogEntry,
  JobStatus,
  JobTypeInfo,
  JobView,
  Lifecycle,
  ListFilter,
  Outcome,
  Rejection,
  RejectionReason,
  ShutdownResult,
  StartResult,
  Stats,
  SubscribeFilter,
  SupervisorEventMap,
} from './common/types.js';
