/**
 * Answers what Node's HTTP parser refuses before any request handler runs (the server's
 * `clientError` event) with a coded JSON error, like every other failure: bad framing or header
 * syntax is 400 `bad_request`, headers over `maxHeaderSize` 431 `headers_too_large`, oversized
 * chunk extensions 413 `payload_too_large`, a request slower than `headersTimeout` or
 * `requestTimeout` 408 `request_timeout`. There is no response object yet, so the answer is a
 * complete HTTP/1.1 message written on the socket, which is then destroyed. A reset, any other
 * socket error, an unwritable socket, or one whose in-flight response has started: destroyed only.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { JobvisorError, type ErrorCode } from '../common/errors.js';
import { jsonAnswer } from './errors.js';

/** The error Node emits: parser errors carry an `HPE_*` code and a `reason`. */
export type ClientError = Error & { code?: string; reason?: string };

const CODES: Readonly<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'payload_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
};

export function handleClientError(error: ClientError, socket: Duplex): void {
  const coded = toCoded(error);
  if (coded && socket.writable && !responseStarted(socket)) socket.write(render(coded));
  socket.destroy();
}

function toCoded(error: ClientError): JobvisorError | undefined {
  const code = error.code ?? '';
  const known = CODES[code];
  if (known) return new JobvisorError(known, undefined, { cause: code });
  if (!code.startsWith('HPE_')) return undefined;
  const reason = typeof error.reason === 'string' ? `: ${error.reason}` : '';
  return new JobvisorError('bad_request', `The request is not valid HTTP${reason}`, { cause: code });
}

/**
 * Whether a response on this socket has already sent its head, so another answer would corrupt
 * it (a parse error in the body of a request being answered). `_httpMessage` is Node's own link
 * from a socket to its in-flight response, the one its default `clientError` answer checks.
 */
function responseStarted(socket: Duplex): boolean {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  return inFlight?.headersSent === true;
}

function render(error: JobvisorError): string {
  const { status, headers, text } = jsonAnswer(
    error.status,
    { error: error.toJSON() },
    { connection: 'close' },
  );
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head.join('')}\r\n${text}`;
}
