/**
 * GET /metrics through `prom-client`: the supervisor's metrics (supervisor/metrics.ts), this
 * server's sockets, and — in a registry of the server's own — Node's default process metrics
 * (CPU, memory, event-loop lag, GC). Given the application's registry (`metrics.registry`), the
 * server registers into it, so `/metrics` answers the application's metrics too and the
 * application may serve the same registry itself; its default metrics are then its own choice.
 */
import { collectDefaultMetrics, Gauge, Registry, type RegistryContentType } from 'prom-client';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface HubCounters {
  readonly connections: number;
  readonly subscriptions: number;
  readonly slowClosed: number;
  readonly coalesced: number;
  /** Open `/inspect` sockets, and those closed for falling behind. */
  readonly inspectConnections: number;
  readonly inspectSlowClosed: number;
}

export interface MetricsOptions {
  /** The application's registry to register into; a new one of the server's own by default. */
  readonly registry?: Registry<RegistryContentType>;
  /** Node's default process metrics: on in the server's own registry, off in the application's. */
  readonly defaultMetrics?: boolean;
}

export interface ServerMetrics {
  readonly registry: Registry<RegistryContentType>;
  /** The text of a scrape, in the registry's exposition format. */
  text(): Promise<string>;
  readonly contentType: string;
}

export function serverMetrics(
  supervisor: Supervisor,
  hub: () => HubCounters,
  options: MetricsOptions = {},
): ServerMetrics {
  const registry = supervisor.metrics(options.registry ?? new Registry());
  const sockets: [string, string, (h: HubCounters) => number][] = [
    ['jobvisor_ws_connections', 'Open WebSocket connections.', (h) => h.connections],
    ['jobvisor_ws_subscriptions', 'Active WebSocket subscriptions.', (h) => h.subscriptions],
    ['jobvisor_ws_slow_closed_total', 'Sockets closed for falling behind.', (h) => h.slowClosed],
    [
      'jobvisor_ws_coalesced_total',
      'Progress frames replaced by a newer one while a subscriber was behind.',
      (h) => h.coalesced,
    ],
    ['jobvisor_inspect_connections', 'Open /inspect WebSocket connections.', (h) => h.inspectConnections],
    [
      'jobvisor_inspect_slow_closed_total',
      '/inspect sockets closed for falling behind.',
      (h) => h.inspectSlowClosed,
    ],
  ];
  for (const [name, help, value] of sockets) {
    // A registry the application shares across servers keeps the first server's gauges.
    if (registry.getSingleMetric(name)) continue;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(hub()));
      },
    });
  }
  if (options.defaultMetrics ?? options.registry === undefined) collectDefaultMetrics({ register: registry });
  return {
    registry,
    text: () => registry.metrics(),
    get contentType() {
      return registry.contentType;
    },
  };
}
