/**
 * GET /metrics: the supervisor's stats (and the hub's socket counts) in the Prometheus text
 * exposition format, version 0.0.4. Built from `stats()` on each scrape: nothing is kept here.
 */
import type { Stats } from '../common/types.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface HubCounters {
  readonly connections: number;
  readonly subscriptions: number;
  readonly slowClosed: number;
  readonly coalesced: number;
  /** Open `/inspect` sockets, and those closed for falling behind. */
  readonly inspectConnections: number;
  readonly inspectSlowClosed: number;
}

const REJECTION_REASONS = [
  'job_final',
  'stale_attempt',
  'not_running',
  'not_queued',
  'progress_backwards',
  'progress_out_of_range',
] as const;

type Sample = readonly [labels: string, value: number];

function metric(out: string[], name: string, type: string, help: string, samples: readonly Sample[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) out.push(`${name}${labels} ${formatValue(value)}`);
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  return String(value);
}

/** A label value as the text format wants it: backslash, quote and newline escaped. */
const labelValue = (text: string) => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(
  stats: Stats,
  hub: HubCounters,
  node: { readonly id: string; readonly label: string },
): string {
  const out: string[] = [];
  const one = (value: number): Sample[] => [['', value]];
  metric(out, 'jobvisor_node_info', 'gauge', 'This process: its node id (new for each start) and label.', [
    [`{node="${labelValue(node.id)}",label="${labelValue(node.label)}"}`, 1],
  ]);
  metric(
    out,
    'jobvisor_paused',
    'gauge',
    'Whether the whole supervisor is paused (1) or not (0).',
    one(stats.paused.all ? 1 : 0),
  );
  metric(
    out,
    'jobvisor_paused_type',
    'gauge',
    'A paused job type (1): its pending jobs wait; types not paused have no sample.',
    stats.paused.types.map((type) => [`{type="${labelValue(type)}"}`, 1]),
  );
  metric(
    out,
    'jobvisor_jobs',
    'gauge',
    'Jobs in the registry by status (live and retained).',
    Object.entries(stats.jobs).map(([status, n]) => [`{status="${status}"}`, n]),
  );
  metric(out, 'jobvisor_jobs_queued', 'gauge', 'Pending jobs waiting for a slot.', one(stats.queued));
  metric(
    out,
    'jobvisor_jobs_scheduled',
    'gauge',
    'Pending jobs waiting for their scheduled time (delayed jobs).',
    one(stats.scheduled),
  );
  metric(
    out,
    'jobvisor_handlers_in_flight',
    'gauge',
    'Handler promises not settled yet.',
    one(stats.handlersInFlight),
  );
  metric(
    out,
    'jobvisor_starts_total',
    'counter',
    'start() calls admitted by the supervisor.',
    one(stats.starts),
  );
  metric(
    out,
    'jobvisor_dedup_hits_total',
    'counter',
    'Starts answered with an existing job.',
    one(stats.deduplicated),
  );
  const reasons = new Set<string>([...REJECTION_REASONS, ...Object.keys(stats.rejectedByReason)]);
  metric(
    out,
    'jobvisor_rejected_events_total',
    'counter',
    'Events a job did not accept, by reason.',
    [...reasons].map((reason) => [
      `{reason="${reason}"}`,
      stats.rejectedByReason[reason as keyof Stats['rejectedByReason']] ?? 0,
    ]),
  );
  metric(
    out,
    'jobvisor_stalls_total',
    'counter',
    'Attempts failed as stalled (no heartbeat).',
    one(stats.stalls),
  );
  metric(out, 'jobvisor_timeouts_total', 'counter', 'Attempts failed by timeoutMs.', one(stats.timeouts));
  metric(
    out,
    'jobvisor_subscriber_errors_total',
    'counter',
    'Subscriber listeners that threw.',
    one(stats.subscriberErrors),
  );
  metric(out, 'jobvisor_change_offset', 'gauge', 'Offset of the latest change.', one(stats.offset));
  const { bucketsMs, counts, sumMs, count } = stats.handlerDurations;
  let cumulative = 0;
  const buckets: Sample[] = bucketsMs.map((le, i) => {
    cumulative += counts[i] ?? 0;
    return [`{le="${le / 1_000}"}`, cumulative];
  });
  buckets.push(['{le="+Inf"}', count]);
  out.push(
    '# HELP jobvisor_handler_duration_seconds How long handlers ran, whatever their outcome.',
    '# TYPE jobvisor_handler_duration_seconds histogram',
    ...buckets.map(([labels, n]) => `jobvisor_handler_duration_seconds_bucket${labels} ${n}`),
    `jobvisor_handler_duration_seconds_sum ${sumMs / 1_000}`,
    `jobvisor_handler_duration_seconds_count ${count}`,
  );
  metric(out, 'jobvisor_ws_connections', 'gauge', 'Open WebSocket connections.', one(hub.connections));
  metric(
    out,
    'jobvisor_ws_subscriptions',
    'gauge',
    'Active WebSocket subscriptions.',
    one(hub.subscriptions),
  );
  metric(
    out,
    'jobvisor_ws_slow_closed_total',
    'counter',
    'Sockets closed for falling behind.',
    one(hub.slowClosed),
  );
  metric(
    out,
    'jobvisor_ws_coalesced_total',
    'counter',
    'Progress frames replaced by a newer one while a subscriber was behind.',
    one(hub.coalesced),
  );
  metric(out, 'jobvisor_inspectors', 'gauge', 'Inspection observers attached.', one(stats.inspectors));
  metric(
    out,
    'jobvisor_inspect_connections',
    'gauge',
    'Open /inspect WebSocket connections.',
    one(hub.inspectConnections),
  );
  metric(
    out,
    'jobvisor_inspect_slow_closed_total',
    'counter',
    '/inspect sockets closed for falling behind.',
    one(hub.inspectSlowClosed),
  );
  const { cluster } = stats;
  if (cluster) {
    metric(
      out,
      'jobvisor_node_lease_held',
      'gauge',
      'Whether this node holds its cluster lease (1) or not (0).',
      one(cluster.state === 'held' ? 1 : 0),
    );
    metric(
      out,
      'jobvisor_node_lease_remaining_seconds',
      'gauge',
      'Until this node abandons its attempts unless a renewal succeeds (local clock).',
      one(cluster.safeUntil === null ? 0 : Math.max(0, (cluster.safeUntil - Date.now()) / 1_000)),
    );
    metric(
      out,
      'jobvisor_db_latency_seconds',
      'gauge',
      'Round trip of the latest lease renewal.',
      one((cluster.dbLatencyMs ?? 0) / 1_000),
    );
    metric(out, 'jobvisor_claimed_total', 'counter', 'Pending jobs this node claimed.', one(cluster.claimed));
    metric(
      out,
      'jobvisor_taken_over_total',
      'counter',
      'Jobs this node took over from nodes whose lease ended.',
      one(cluster.takenOver),
    );
    metric(
      out,
      'jobvisor_abandoned_total',
      'counter',
      'Attempts this node abandoned (its lease may have lapsed).',
      one(cluster.abandoned),
    );
  }
  return `${out.join('\n')}\n`;
}
