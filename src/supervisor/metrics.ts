/**
 * The supervisor's Prometheus metrics, through `prom-client` (the registry Node services run):
 * `supervisor.metrics(registry?)` registers them into an application's own registry (or a new
 * one) and answers it; the server serves the registry it was given at `/metrics`. Gauges and the
 * counters of `stats()` are read at each scrape (`collect`: nothing kept here); the per-type
 * counters and the handler-duration histogram are counted as jobs end. Names and labels: README.
 */
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import type { ChangeKind } from '../../machines/job.types.js';
import type { JobStatus, JobView, Stats } from '../common/types.js';
import { HANDLER_DURATION_BUCKETS_MS } from './telemetry.js';

const REJECTION_REASONS = [
  'job_final',
  'stale_attempt',
  'not_running',
  'not_queued',
  'progress_backwards',
  'progress_out_of_range',
] as const;

const FINAL: ReadonlySet<ChangeKind> = new Set<ChangeKind>(['completed', 'failed', 'cancelled']);

export interface MetricsSource {
  readonly stats: () => Stats;
  /** Jobs in the registry by type and status (live and retained). */
  readonly byType: () => ReadonlyMap<string, Readonly<Record<JobStatus, number>>>;
  readonly node: { readonly id: string; readonly label: string };
}

type AnyMetric = Gauge | Counter | Histogram;

export class SupervisorMetrics {
  readonly #metrics: AnyMetric[];
  readonly #finished: Counter<'type' | 'status'>;
  readonly #durations: Histogram<'type'>;
  readonly #registries = new WeakSet<Registry<RegistryContentType>>();
  /** Whether any registry holds them: until then nothing is counted (no cost). */
  #on = false;

  constructor(source: MetricsSource) {
    const stats = source.stats;
    const gauge = (name: string, help: string, value: (s: Stats) => number) =>
      new Gauge({
        name,
        help,
        registers: [],
        collect() {
          this.set(value(stats()));
        },
      });
    const total = (name: string, help: string, value: (s: Stats) => number) =>
      new Counter({
        name,
        help,
        registers: [],
        collect() {
          this.reset();
          this.inc(value(stats()));
        },
      });
    this.#finished = new Counter({
      name: 'jobvisor_jobs_finished_total',
      help: "Jobs that ended, by type and final status, as this supervisor was told (in a cluster: every node's).",
      labelNames: ['type', 'status'],
      registers: [],
    });
    this.#durations = new Histogram({
      name: 'jobvisor_handler_duration_seconds',
      help: 'How long handlers ran, whatever their outcome, by job type.',
      labelNames: ['type'],
      buckets: HANDLER_DURATION_BUCKETS_MS.map((ms) => ms / 1_000),
      registers: [],
    });
    this.#metrics = [
      new Gauge({
        name: 'jobvisor_node_info',
        help: 'This process: its node id (new for each start) and label.',
        labelNames: ['node', 'label'],
        registers: [],
        collect() {
          this.set({ node: source.node.id, label: source.node.label }, 1);
        },
      }),
      gauge('jobvisor_paused', 'Whether the whole supervisor is paused (1) or not (0).', (s) =>
        s.paused.all ? 1 : 0,
      ),
      new Gauge({
        name: 'jobvisor_paused_type',
        help: 'A paused job type (1): its pending jobs wait; types not paused have no sample.',
        labelNames: ['type'],
        registers: [],
        collect() {
          this.reset();
          for (const type of stats().paused.types) this.set({ type }, 1);
        },
      }),
      new Gauge({
        name: 'jobvisor_jobs',
        help: 'Jobs in the registry (live and retained) by type and status.',
        labelNames: ['type', 'status'],
        registers: [],
        collect() {
          this.reset();
          for (const [type, counts] of source.byType())
            for (const [status, n] of Object.entries(counts)) this.set({ type, status }, n);
        },
      }),
      gauge('jobvisor_jobs_queued', 'Pending jobs waiting for a slot.', (s) => s.queued),
      gauge(
        'jobvisor_jobs_scheduled',
        'Pending jobs waiting for their scheduled time (delayed jobs).',
        (s) => s.scheduled,
      ),
      gauge('jobvisor_handlers_in_flight', 'Handler promises not settled yet.', (s) => s.handlersInFlight),
      total('jobvisor_starts_total', 'start() calls admitted by the supervisor.', (s) => s.starts),
      total('jobvisor_dedup_hits_total', 'Starts answered with an existing job.', (s) => s.deduplicated),
      total('jobvisor_stalls_total', 'Attempts failed as stalled (no heartbeat).', (s) => s.stalls),
      total('jobvisor_timeouts_total', 'Attempts failed by timeoutMs.', (s) => s.timeouts),
      total(
        'jobvisor_subscriber_errors_total',
        'Subscriber listeners that threw.',
        (s) => s.subscriberErrors,
      ),
      gauge('jobvisor_change_offset', 'Offset of the latest change.', (s) => s.offset),
      gauge('jobvisor_inspectors', 'Inspection observers attached.', (s) => s.inspectors),
      gauge(
        'jobvisor_node_lease_held',
        'Whether this node holds its cluster lease (1) or not (0); 0 alone.',
        (s) => (s.cluster?.state === 'held' ? 1 : 0),
      ),
      gauge(
        'jobvisor_node_lease_remaining_seconds',
        'Until this node abandons its attempts unless a renewal succeeds (local clock); 0 alone.',
        (s) => (s.cluster?.safeUntil ? Math.max(0, (s.cluster.safeUntil - Date.now()) / 1_000) : 0),
      ),
      gauge(
        'jobvisor_db_latency_seconds',
        'Round trip of the latest lease renewal; 0 alone.',
        (s) => (s.cluster?.dbLatencyMs ?? 0) / 1_000,
      ),
      total('jobvisor_claimed_total', 'Pending jobs this node claimed.', (s) => s.cluster?.claimed ?? 0),
      total(
        'jobvisor_taken_over_total',
        'Jobs this node took over from nodes whose lease ended.',
        (s) => s.cluster?.takenOver ?? 0,
      ),
      total(
        'jobvisor_abandoned_total',
        'Attempts this node abandoned (its lease may have lapsed).',
        (s) => s.cluster?.abandoned ?? 0,
      ),
      new Counter({
        name: 'jobvisor_rejected_events_total',
        help: 'Events a job did not accept, by reason.',
        labelNames: ['reason'],
        registers: [],
        collect() {
          this.reset();
          const counts = stats().rejectedByReason as Readonly<Record<string, number>>;
          for (const reason of new Set([...REJECTION_REASONS, ...Object.keys(counts)]))
            this.inc({ reason }, counts[reason] ?? 0);
        },
      }),
      this.#finished,
      this.#durations,
    ];
  }

  /** Registers every metric into `registry` (once per registry) and answers it. */
  register(registry: Registry<RegistryContentType>): Registry<RegistryContentType> {
    if (this.#registries.has(registry)) return registry;
    for (const metric of this.#metrics) registry.registerMetric(metric);
    this.#registries.add(registry);
    this.#on = true;
    return registry;
  }

  /** A change was told: a job that ended is counted by type and status. */
  told(kind: ChangeKind, job: JobView): void {
    if (this.#on && FINAL.has(kind)) this.#finished.inc({ type: job.type, status: job.status });
  }

  handlerFinished(type: string, ms: number): void {
    if (this.#on) this.#durations.observe({ type }, ms / 1_000);
  }
}
