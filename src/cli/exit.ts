/** Exit codes of the CLI and how errors map to them. */
import { UsageError } from './args.js';

export const EXIT = Object.freeze({
  /** The job completed, or the command succeeded. */
  ok: 0,
  /** The job failed. */
  failed: 1,
  /** Bad usage: unknown command or option, invalid value. */
  usage: 2,
  /** The job was cancelled. */
  cancelled: 3,
  /** The server could not be reached. */
  unreachable: 4,
  /** Any other error answered by the server (unknown type, invalid input, unknown job, unauthorized…). */
  error: 5,
});

/** The exit code that a job's status means: 0 completed (or still live), 1 failed, 3 cancelled. */
export function exitCodeOfStatus(status: string): number {
  if (status === 'failed') return EXIT.failed;
  if (status === 'cancelled') return EXIT.cancelled;
  return EXIT.ok;
}

export const FINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** An error with a code (the client's `JobvisorClientError`, the supervisor's `JobvisorError`). */
export interface CodedError {
  readonly code: string;
  readonly message: string;
  readonly status?: number;
}

export function isCodedError(error: unknown): error is CodedError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/** Prints an error (JSON on stdout with `--json`, a sentence on stderr otherwise) and returns its exit code. */
export function reportError(error: unknown, json: boolean): number {
  if (error instanceof UsageError) {
    process.stderr.write(`jobvisor: ${error.message}\nRun "jobvisor help" for usage.\n`);
    return EXIT.usage;
  }
  const code = isCodedError(error) ? error.code : 'cli_error';
  const message = error instanceof Error ? error.message : String(error);
  const exit = code === 'unreachable' ? EXIT.unreachable : EXIT.error;
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  const hint = code === 'unreachable' ? ' Is "jobvisor serve" running? (set --url or JOBVISOR_URL)' : '';
  process.stderr.write(`jobvisor: ${message} (${code}).${hint}\n`);
  return exit;
}
