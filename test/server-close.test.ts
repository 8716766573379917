/**
 * Closing the server while clients reconnect (as the dashboard and the client SDK do when the
 * server goes away): `close()` resolves, and a socket that arrives while the others are still
 * closing is refused, never left open holding the HTTP server.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { createSupervisor } from '../src/index.js';
import { createJobvisorServer } from '../src/server/index.js';

/** A WebSocket peer that completes the handshake and then never answers, not even a close frame. */
function silentPeer(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.once('data', (data) =>
      data.toString().startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(data.toString())),
    );
    socket.on('error', () => undefined);
  });
}

describe('server.close() while a client reconnects', () => {
  it('closes the socket that arrived during the close too, and resolves', async () => {
    const supervisor = createSupervisor();
    const server = createJobvisorServer({ supervisor });
    const { url, port } = await server.listen(0);
    const wsUrl = `${url.replace('http', 'ws')}/ws`;
    // Keeps the close busy for its one-second deadline.
    const silent = await silentPeer(port);
    const first = new WebSocket(wsUrl);
    await new Promise((resolve) => first.once('open', resolve));
    let again: WebSocket | undefined;
    const reconnected = new Promise<string>((resolve) => {
      first.once('close', () => {
        // Back again while the server is still waiting for the silent peer.
        again = new WebSocket(wsUrl);
        again.on('error', () => undefined);
        again.once('open', () => resolve('open'));
        again.once('close', (code) => resolve(`closed ${code}`));
        again.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      });
    });
    await server.close();
    // Refused at the upgrade (or at the door, once the server stopped listening): never let in.
    expect(await reconnected).toMatch(/^(refused 503|closed 1006)$/);
    expect(again!.readyState).not.toBe(WebSocket.OPEN);
    silent.destroy();
    again?.terminate();
    await supervisor.shutdown();
  });

  it('resolves while a connection that sent no request is open (a browser opens one ahead), and closes it', async () => {
    const supervisor = createSupervisor();
    const server = createJobvisorServer({ supervisor });
    const { port } = await server.listen(0);
    const idle = tcpConnect(port, '127.0.0.1');
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('connect', resolve));
    const ended = new Promise((resolve) => idle.once('close', resolve));
    // Without its own deadline the close waited for Node's header timeout (a minute) on this one.
    await server.close();
    await ended;
    expect(idle.destroyed).toBe(true);
    await supervisor.shutdown();
  });
});
