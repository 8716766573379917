/**
 * The dashboard's entry point: a client SDK for the server that served this page, one live
 * subscription to every job (with rejected events), and the token form when the API answers 401.
 */
import './csp.js';
import {
  createClient,
  JobvisorClientError,
  type JobvisorClient,
  type WireJobType,
} from '../../src/client/index.js';
import { byId } from './dom.js';
import { showConnection } from './header.js';
import { NodesPanel } from './nodes.js';
import { SchedulesPanel } from './schedules.js';
import { initialToken, saveToken, TokenPanel } from './token.js';
import { Dashboard } from './view.js';

/** The API lives where the page does (also when a proxy serves both under a path prefix). */
const baseUrl = new URL('.', location.href).toString();

let client: JobvisorClient | null = null;
let generation = 0;

const view = new Dashboard(() => client);
const tokenPanel = new TokenPanel((token) => void connect(token));
const nodesPanel = new NodesPanel(
  () => client,
  (id) => view.open(id),
);
const schedulesPanel = new SchedulesPanel(
  () => client,
  byId('notice', HTMLElement),
  (id) => view.open(id),
);

/** The registered types; `null` while the server cannot be reached; 'unauthorized' on a 401. */
async function loadTypes(c: JobvisorClient): Promise<WireJobType[] | null | 'unauthorized'> {
  try {
    return await c.types();
  } catch (error) {
    if (error instanceof JobvisorClientError && error.code === 'unauthorized') return 'unauthorized';
    return null;
  }
}

function refuse(c: JobvisorClient, token: string | undefined): void {
  c.close();
  if (client === c) client = null;
  if (token !== undefined) saveToken(undefined);
  showConnection('unauthorized', null);
  tokenPanel.show(token !== undefined);
}

async function connect(token: string | undefined): Promise<void> {
  const mine = ++generation;
  client?.close();
  const c = createClient({
    url: baseUrl,
    ...(token === undefined ? {} : { token }),
    reconnect: { maxMs: 5_000 },
  });
  client = c;
  tokenPanel.hide();
  showConnection('connecting', null);
  const types = await loadTypes(c);
  if (mine !== generation) return;
  if (types === 'unauthorized') return refuse(c, token);
  view.setTypes(types);
  nodesPanel.start();
  schedulesPanel.start();

  const live = c.subscribe({ all: true }, { rejections: true });
  view.started((jobIds) => live.store.trigger.forget({ jobIds }));
  // Types are (re)loaded each time the stream comes back: the server may have restarted with others.
  let typesFresh = types !== null;
  live.store.subscribe(({ context }) => {
    if (mine !== generation) return;
    if (context.status === 'closed' && context.error?.code === 'unauthorized') return refuse(c, token);
    if (context.status !== 'live') typesFresh = false;
    else if (!typesFresh) {
      typesFresh = true;
      void loadTypes(c).then((fresh) => {
        if (mine !== generation) return;
        if (fresh === 'unauthorized') refuse(c, token);
        else if (fresh !== null) view.setTypes(fresh);
        else typesFresh = false;
      });
    }
    view.setContext(context);
  });
  view.setContext(live.store.getSnapshot().context);
}

void connect(initialToken());
setInterval(() => view.tick(Date.now()), 1_000);
