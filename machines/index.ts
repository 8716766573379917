/** The machines as data: load them into a visualizer, or provide your own implementations. */
export { jobMachine, backoffDelay } from './job.machine.js';
export type { JobMachine } from './job.machine.js';
export { supervisorMachine } from './supervisor.machine.js';
export type { SupervisorMachine, SupervisorEvent, SupervisorContext } from './supervisor.machine.js';
export { relayMachine } from './relay.machine.js';
export { leaseMachine } from './lease.machine.js';
export type { LeaseContext, LeaseEvent, LeaseInput, LeaseMachine } from './lease.machine.js';
export type {
  RelayContext,
  RelayEvent,
  RelayMachine,
  RelaySocketCommand,
  RelayStatus,
  RelayStatusEmit,
} from './relay.machine.js';
export { connectionMachine, createConnectionMachine, CONNECTION_CLOSE_CODES } from './connection.machine.js';
export type {
  ConnectionContext,
  ConnectionError,
  ConnectionEvent,
  ConnectionInput,
  ConnectionMachine,
  SocketCommand,
} from './connection.machine.js';
export { exponentialBackoff } from './backoff.js';
export type { ExponentialBackoff } from './backoff.js';
export { rejectionReason, stateName, isValidPercent } from './job.rejection.js';
export { JOB_EVENT_TYPES, TERMINAL_STATUSES } from './job.types.js';
export type {
  AttemptError,
  ChangeKind,
  HandlerInput,
  JobContext,
  JobDeadlines,
  JobErrorInfo,
  JobEvent,
  JobEventType,
  JobInput,
  JobSpec,
  JobStatus,
  RejectedEmit,
  RejectionReason,
  RetryPolicy,
} from './job.types.js';
