/**
 * A CPU-bound example job that runs in a worker thread (registered as type `hash` by handlers.ts):
 * chains `rounds` SHA-256 hashes of `text`, with progress every 10%, honouring its signal.
 */
import { createHash } from 'node:crypto';
import type { HandlerContext } from 'jobvisor';

export default function hash(ctx: HandlerContext<{ text: string; rounds: number }>): { digest: string } {
  const { text, rounds } = ctx.input;
  const step = Math.max(1, Math.floor(rounds / 10));
  let digest = text;
  for (let i = 1; i <= rounds; i++) {
    digest = createHash('sha256').update(digest).digest('hex');
    if (i % step === 0) {
      ctx.signal.throwIfAborted();
      ctx.progress(Math.min(100, Math.floor((i * 100) / rounds)), `${i}/${rounds} rounds`);
    }
  }
  return { digest };
}
