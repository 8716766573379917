/**
 * The 413 for a body over `maxBodyBytes`, answered so that the client reads it. Closing the
 * connection with the rest of the body unread makes the kernel reset it, and a client still
 * sending then fails with EPIPE or ECONNRESET, often before it has read the answer. So the answer
 * goes out at once and complete (its length is declared, with `connection: close`), and the
 * response stays open while the rest of the body is read and dropped, never kept: until the body
 * ends or the client closes, at most DISCARD.bytes or DISCARD.ms. Ending the response then closes
 * the connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobvisorError } from '../common/errors.js';
import { jsonAnswer } from './errors.js';

/** How much of a rejected body is read and dropped before the connection is closed regardless. */
export const DISCARD = Object.freeze({ bytes: 16 * 1_048_576, ms: 5_000 });

export function answerTooLarge(req: IncomingMessage, res: ServerResponse, error: JobvisorError): void {
  if (res.headersSent) return;
  const answer = jsonAnswer(error.status, { error: error.toJSON() }, { connection: 'close' });
  res.writeHead(answer.status, answer.headers);
  res.write(answer.text);
  if (req.readableEnded) {
    res.end();
    return;
  }
  let dropped = 0;
  const drop = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD.bytes) close();
  };
  const close = () => {
    clearTimeout(deadline);
    req.off('data', drop).off('end', close).off('error', close);
    res.off('close', close);
    if (!res.destroyed) res.end();
  };
  const deadline = setTimeout(close, DISCARD.ms);
  req.on('data', drop).once('end', close).once('error', close);
  res.once('close', close);
  req.resume();
}
