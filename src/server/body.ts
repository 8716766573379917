/**
 * Reads a JSON request body within a size limit. Too large: `payload_too_large` (by the declared
 * length before reading anything, or as soon as the bytes read exceed the limit). Not JSON:
 * `invalid_request`. An empty body reads as `undefined`.
 */
import type { IncomingMessage } from 'node:http';
import { JobvisorError } from '../common/errors.js';

export function tooLarge(limit: number): JobvisorError {
  return new JobvisorError('payload_too_large', `The request body is larger than ${limit} bytes`, {
    limit,
  });
}

export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (error: JobvisorError) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    });
    req.on('error', () => fail(new JobvisorError('invalid_request', 'The request body could not be read')));
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        reject(new JobvisorError('invalid_request', `The request body is not valid JSON: ${detail}`));
      }
    });
  });
}
