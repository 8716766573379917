/**
 * The Nodes panel: the live nodes of a cluster (several `jobvisor serve` on one PostgreSQL), each
 * with its label, id, lease and the jobs running on it, from `GET /nodes` every few seconds.
 * Hidden for a single node (the list is empty).
 */
import type { JobvisorClient } from '../../src/client/index.js';
import { byId, h, setText } from './dom.js';
import { shortId } from './format.js';
import { Poller } from './poller.js';

type Nodes = Awaited<ReturnType<JobvisorClient['nodes']>>;

export class NodesPanel {
  readonly #card = byId('nodes-card', HTMLElement);
  readonly #list = byId('nodes', HTMLUListElement);
  readonly #count = byId('nodes-count', HTMLElement);
  readonly #client: () => JobvisorClient | null;
  readonly #open: (id: string) => void;
  readonly #poller = new Poller(async () => {
    const client = this.#client();
    if (client) this.#show(await client.nodes());
  });

  constructor(client: () => JobvisorClient | null, open: (id: string) => void) {
    this.#client = client;
    this.#open = open;
  }

  /** Loads now, then every few seconds; a failed load keeps what is shown. */
  start(): void {
    this.#poller.start();
  }

  #show(nodes: Nodes): void {
    this.#card.hidden = nodes.length === 0;
    setText(this.#count, String(nodes.length));
    const now = Date.now();
    this.#list.replaceChildren(
      ...nodes.map((node) => {
        const lease = Math.max(0, Math.round((node.leaseUntil - now) / 1_000));
        const running = node.running.map((id) =>
          h('li', {}, h('button', { type: 'button', class: 'link', 'data-job': id }, shortId(id))),
        );
        const item = h(
          'li',
          { class: 'node', 'data-node': node.id },
          h(
            'div',
            { class: 'node-head' },
            h('strong', {}, node.label),
            h('code', { title: node.id }, shortId(node.id)),
          ),
          h(
            'p',
            { class: 'hint' },
            `lease ${lease} s · owns ${node.jobs} job${node.jobs === 1 ? '' : 's'} · ${node.running.length} running`,
          ),
          running.length > 0
            ? h('ul', { class: 'node-jobs', 'aria-label': `Running on ${node.label}` }, ...running)
            : null,
        );
        for (const button of item.querySelectorAll('button[data-job]'))
          button.addEventListener('click', () => this.#open(button.getAttribute('data-job')!));
        return item;
      }),
    );
  }
}
