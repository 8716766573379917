/**
 * The subscribers of bench/ws-delivery.ts, in a process of their own (so their parsing does not
 * run on the server's event loop): `count` WebSocket clients subscribed to every change. The
 * parent sends `{ expect: n }`; once the clients together received n changes this process answers
 * `{ reached: n }`. On `{ done: true }` it answers with every change-to-receipt latency (the parent then ends it).
 *
 *   (forked) bench/ws-subscribers.ts <ws url> <count>
 */
import WebSocket from 'ws';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
const latencies: number[] = [];
let received = 0;
let target = Infinity;
const send = (message: object) => process.send!(message);

const sockets = await Promise.all(
  Array.from(
    { length: count },
    () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url!);
        ws.once('error', reject);
        ws.on('message', (data: Buffer) => {
          const message = JSON.parse(data.toString('utf8')) as { type: string; change?: { at: number } };
          if (message.type === 'snapshot') return resolve(ws);
          if (message.type !== 'change' || !message.change) return;
          latencies.push(Date.now() - message.change.at);
          if (++received === target) send({ reached: received });
        });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 's', topic: { all: true } })));
      }),
  ),
);
process.on('message', (message: { expect?: number; done?: boolean }) => {
  if (message.expect !== undefined) {
    target = message.expect;
    if (received >= target) send({ reached: received });
  }
  if (message.done) {
    for (const ws of sockets) ws.close();
    send({ latencies, received }); // the parent ends this process once it has the answer
  }
});
send({ ready: true });
