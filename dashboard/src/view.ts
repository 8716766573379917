/**
 * The page: every part of the dashboard drawn from the live store's context. Store updates are
 * coalesced into one render per animation frame; a 1 s timer re-renders only the ages.
 */
import {
  JobvisorClientError,
  type JobStatus,
  type JobvisorClient,
  type LiveContext,
  type WireJobType,
} from '../../src/client/index.js';
import { Detail } from './detail.js';
import { byId, setText } from './dom.js';
import { FilterBar } from './filters.js';
import { Counts, showConnection } from './header.js';
import { countByStatus, visibleJobs } from './jobs.js';
import { RejectionList } from './rejections.js';
import { StartForm } from './start-form.js';
import { JobsTable } from './table.js';
import { BulkBar } from './bulk-bar.js';
import { PauseBar } from './pause-bar.js';
import { TypeOverview, typeRows } from './type-overview.js';
import { Pager } from './pager.js';

export class Dashboard {
  readonly #notice = byId('notice', HTMLElement);
  readonly #counts: Counts;
  readonly #filters: FilterBar;
  readonly #table: JobsTable;
  readonly #rejections: RejectionList;
  readonly #detail: Detail;
  readonly #start: StartForm;
  readonly #bulk: BulkBar;
  readonly #pauses: PauseBar;
  readonly #types: TypeOverview;
  readonly #pager: Pager;
  #context: LiveContext | null = null;
  /** Drops removed jobs from the live subscription's store (set once subscribed). */
  #forget: (ids: readonly string[]) => void = () => undefined;
  #typeNames: string[] = [];
  #scheduled = false;

  constructor(private readonly client: () => JobvisorClient | null) {
    const open = (id: string) => this.open(id);
    const cancel = (id: string) => void this.cancel(id);
    this.#pager = new Pager(() => this.#schedule());
    this.#filters = new FilterBar(() => {
      this.#pager.reset();
      this.#schedule();
    });
    this.#counts = new Counts((status: JobStatus | '') => {
      this.#filters.pickStatus(status);
      this.#schedule();
    });
    this.#table = new JobsTable(
      byId('jobs-body', HTMLTableSectionElement),
      byId('jobs-note', HTMLElement),
      byId('select-all', HTMLInputElement),
      { open, cancel, selected: (ids) => this.#bulk.show(ids) },
    );
    this.#bulk = new BulkBar(
      client,
      this.#notice,
      () => this.#table.clearSelection(),
      (ids) => this.#forget(ids),
    );
    this.#pauses = new PauseBar(client, this.#notice, () => this.#schedule());
    this.#types = new TypeOverview((type) => void this.#pauses.toggle(type));
    this.#rejections = new RejectionList(
      byId('rejections', HTMLUListElement),
      byId('rejections-note', HTMLElement),
      {
        count: byId('rejections-count', HTMLElement),
        showJob: true,
        open,
      },
    );
    this.#detail = new Detail(client, cancel, (id) => void this.retry(id));
    this.#start = new StartForm(client, (job) => this.open(job.id));
  }

  setContext(context: LiveContext): void {
    this.#context = context;
    this.#schedule();
  }

  setTypes(types: readonly WireJobType[] | null): void {
    this.#start.setTypes(types);
    if (types !== null) this.#typeNames = types.map((t) => t.name);
    this.#schedule();
  }

  /** Connected: what is paused is loaded now and every few seconds; `forget` drops removed jobs. */
  started(forget: (ids: readonly string[]) => void): void {
    this.#forget = forget;
    this.#pauses.start();
  }

  open(id: string): void {
    if (this.#context) this.#detail.open(id, this.#context);
  }

  async cancel(id: string): Promise<void> {
    const client = this.client();
    if (client === null) return;
    setText(this.#notice, '');
    this.#table.markCancelling(id, true);
    try {
      await client.cancel(id, 'cancelled from the dashboard');
    } catch (error) {
      const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.#notice, `Could not cancel job ${id}: ${text}`);
    } finally {
      this.#table.markCancelling(id, false);
    }
  }

  async retry(id: string): Promise<void> {
    const client = this.client();
    if (client === null) return;
    setText(this.#notice, '');
    try {
      await client.retry(id);
    } catch (error) {
      const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.#notice, `Could not retry job ${id}: ${text}`);
    }
  }

  tick(now: number): void {
    this.#table.tick(now);
    // The throughput window moves with the clock.
    if (this.#context)
      this.#types.update(
        typeRows(Object.values(this.#context.jobs), this.#typeNames, now),
        this.#pauses.state,
      );
    this.#detail.tick(now);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      this.#render();
    });
  }

  #render(): void {
    const context = this.#context;
    if (context === null) return;
    const jobs = Object.values(context.jobs);
    const filters = this.#filters.value;
    showConnection(context.status, context.error);
    this.#filters.setTypes([...this.#typeNames, ...jobs.map((job) => job.type)]);
    this.#pauses.setType(filters.type);
    this.#types.update(typeRows(jobs, this.#typeNames, Date.now()), this.#pauses.state);
    this.#counts.update(countByStatus(jobs), jobs.length, filters.status);
    const now = Date.now();
    const matching = visibleJobs(jobs, filters, now);
    this.#table.update(this.#pager.page(matching), matching.length, jobs.length, now);
    this.#rejections.update(context.rejections);
    this.#detail.update(context);
  }
}
