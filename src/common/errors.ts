/**
 * The one registry of coded errors. Every error jobvisor throws is a `JobvisorError` with a
 * code from this table; the README documents each code (a test keeps them in sync).
 */
export const ERROR_CODES = {
  invalid_options: { status: 400, message: 'The options are invalid' },
  invalid_request: { status: 400, message: 'The request is invalid' },
  invalid_input: { status: 400, message: "The job input does not match the job type's schema" },
  unknown_job_type: { status: 400, message: 'No handler is registered for this job type' },
  type_already_registered: { status: 409, message: 'A handler is already registered for this job type' },
  duplicate_key: { status: 409, message: 'A pending or running job already holds this key' },
  job_not_found: { status: 404, message: 'No job has this id (it never existed or retention removed it)' },
  job_not_retryable: {
    status: 409,
    message: 'Only a failed or cancelled job can be retried (a completed or live one is not)',
  },
  job_not_finished: {
    status: 409,
    message: 'The job is pending or running: only a finished job can be removed',
  },
  schedule_not_found: { status: 404, message: 'No schedule has this name' },
  wait_timeout: { status: 408, message: 'The job did not finish within the wait timeout' },
  wait_aborted: { status: 499, message: 'Waiting for the job was aborted' },
  shutting_down: { status: 503, message: 'The supervisor is shutting down and accepts no new jobs' },
  store_conflict: {
    status: 409,
    message: 'The store refused a write: another writer changed the job or holds its key',
  },
  change_not_storable: {
    status: 500,
    message: 'The store cannot encode this change (the job fails alone; other changes are written)',
  },
  store_corrupt: { status: 500, message: 'The database file is corrupt or is not a jobvisor database' },
  store_version_unsupported: {
    status: 500,
    message: 'The database was written by a newer version of jobvisor',
  },
  store_locked: { status: 503, message: 'Another process holds the database' },
  store_unavailable: {
    status: 503,
    message:
      'The store cannot be opened or written (missing directory, permissions, full disk), or did not make the change durable in time',
  },
  internal_error: { status: 500, message: 'An internal error occurred' },
  not_found: { status: 404, message: 'No such route' },
  method_not_allowed: { status: 405, message: 'The route does not accept this method' },
  unauthorized: { status: 401, message: 'A valid bearer token is required' },
  payload_too_large: { status: 413, message: 'The request body or message is too large' },
  bad_request: { status: 400, message: 'The request is not valid HTTP' },
  headers_too_large: { status: 431, message: 'The request headers are larger than the server accepts' },
  request_timeout: { status: 408, message: 'The request did not arrive within the time the server allows' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class JobvisorError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string = ERROR_CODES[code].message, details?: unknown) {
    super(message);
    this.name = 'JobvisorError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Codes a job's `error` can carry (as opposed to errors thrown by the API).
 * A handler may also throw its own code with `JobFailure`, or any error with a string `code`.
 */
export const JOB_ERROR_CODES = {
  handler_error: 'The handler threw (or rejected with) an error without a code of its own',
  handler_crashed: 'The handler runtime failed outside the handler',
  worker_crashed:
    'The worker thread running the handler crashed or exited; retried under the retry policy, the thread is replaced',
  stalled: 'No heartbeat or progress within heartbeatTimeoutMs',
  timeout: 'The attempt ran longer than timeoutMs',
  interrupted: 'The process stopped (crash, kill) while the attempt was running; retried if attempts remain',
  internal_error: "The job's actor failed (a bug in jobvisor or in a provided machine action)",
  result_not_serializable:
    'The handler returned a result that is not JSON within the limits (see `limits`); not retried',
  change_not_storable:
    'The store could not encode a change of the job; the job ends from its last durable state',
  store_conflict: 'The store refused a change of the job (another writer changed it or holds its key)',
} as const;

/**
 * The job a store refused a change of for good (a conflict or an encoding failure): such an
 * error names it in `details.jobId`. `undefined` for any other error, which is transient.
 */
export function refusedJob(error: unknown): string | undefined {
  if (!(error instanceof JobvisorError)) return undefined;
  if (error.code !== 'store_conflict' && error.code !== 'change_not_storable') return undefined;
  const jobId = (error.details as { jobId?: unknown } | null | undefined)?.jobId;
  return typeof jobId === 'string' ? jobId : undefined;
}

/** Throw this from a handler to fail the attempt with your own code; `retryable: false` skips retries. */
export class JobFailure extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'JobFailure';
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}
