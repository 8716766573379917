/** The one error type of the client SDK: the server's coded error, or a client-side code. */
export class JobvisorClientError extends Error {
  override readonly name = 'JobvisorClientError';
  /** The server's error code, or `unreachable` (network failure) / `bad_response` (answer not as the protocol says). */
  readonly code: string;
  /** The HTTP status, 0 when there was no HTTP answer. */
  readonly status: number;
  readonly details?: unknown;

  constructor(
    code: string,
    message: string,
    status: number,
    details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    if (details !== undefined) this.details = details;
  }
}
