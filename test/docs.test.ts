/**
 * The documentation cannot drift from the code: the machine diagrams in README.md and
 * docs/machines/ are what `npm run machines` generates today, and the README documents every
 * error code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { and, assign, fromPromise, not, or, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { JOB_EVENT_TYPES, jobMachine, supervisorMachine } from '../machines/index.js';
import { ERROR_CODES, JOB_ERROR_CODES } from '../src/common/errors.js';
import { generatedFiles, MACHINES, mermaidBlock, README, readBlock, ROOT } from '../scripts/machine-docs.js';
import { toJSON, toMermaid } from '../scripts/mermaid.js';

const STALE = 'stale: run `npm run machines` to regenerate';

const readme = () => readFile(join(ROOT, README), 'utf8');

/** The lines of a diagram that are edges: `from --> to : label`. */
function edges(diagram: string): { from: string; to: string; label: string }[] {
  return [...diagram.matchAll(/^\s*(\w+) --> (\w+)(?: : (.*))?$/gm)].map((match) => ({
    from: match[1]!,
    to: match[2]!,
    label: match[3] ?? '',
  }));
}

/**
 * A check of the subset of Mermaid's state diagram syntax the generator writes: every line is
 * one of its statements, blocks balance, ids are plain identifiers, every id used is declared.
 * (Mermaid itself needs a DOM to parse, so it is not a dependency.)
 */
function checkSyntax(diagram: string): string[] {
  const problems: string[] = [];
  const lines = diagram.split('\n');
  if (lines[0] !== 'stateDiagram-v2') problems.push('first line is not stateDiagram-v2');
  if (lines.at(-1) !== '') problems.push('no final newline');
  const declared = new Set<string>();
  const used: string[] = [];
  let depth = 0;
  let inNote = false;
  for (const line of lines.slice(1, -1)) {
    const text = line.trim();
    let match: RegExpExecArray | null;
    if (inNote) {
      if (text === 'end note') inNote = false;
      else if (text.includes(';')) problems.push(`';' in a note: ${line}`);
    } else if (text.startsWith('%%') || text === '--') {
      // a comment, or the border between the regions of a parallel state
    } else if ((match = /^state "([^"]+)" as (\w+)( \{)?$/.exec(text))) {
      declared.add(match[2]!);
      if (match[3]) depth += 1;
    } else if (text === '}') {
      depth -= 1;
      if (depth < 0) problems.push('unbalanced }');
    } else if ((match = /^\[\*\] --> (\w+)$/.exec(text))) {
      used.push(match[1]!);
    } else if ((match = /^(\w+) --> \[\*\]$/.exec(text))) {
      used.push(match[1]!);
    } else if ((match = /^(\w+) --> (\w+)(?: : ([^;]+))?$/.exec(text))) {
      used.push(match[1]!, match[2]!);
    } else if ((match = /^note (?:left|right) of (\w+)( : [^;]+)?$/.exec(text))) {
      used.push(match[1]!);
      inNote = match[2] === undefined;
    } else if ((match = /^(\w+) : [^;]+$/.exec(text))) {
      used.push(match[1]!);
    } else {
      problems.push(`not a statement: ${line}`);
    }
  }
  if (depth !== 0) problems.push('unbalanced {');
  if (inNote) problems.push('unterminated note');
  for (const id of declared) {
    if (!/^[A-Za-z]\w*$/.test(id)) problems.push(`bad id: ${id}`);
  }
  for (const id of used) if (!declared.has(id)) problems.push(`undeclared state: ${id}`);
  return problems;
}

describe('generated machine docs', () => {
  it.each(MACHINES.map((entry) => [entry.marker, entry] as const))(
    'README.md %s block is the current diagram',
    async (_marker, { marker, machine }) => {
      const block = readBlock(await readme(), marker);
      expect(block, `README.md has no ${marker} markers`).toBeDefined();
      expect(block, STALE).toBe(mermaidBlock(toMermaid(machine)));
    },
  );

  it('docs/machines/* are up to date', async () => {
    const files = await generatedFiles(await readme());
    const docs = [...files].filter(([path]) => path !== README);
    expect(docs.map(([path]) => path).sort()).toEqual([
      'docs/machines/job.json',
      'docs/machines/job.mmd',
      'docs/machines/lease.json',
      'docs/machines/lease.mmd',
      'docs/machines/supervisor.json',
      'docs/machines/supervisor.mmd',
    ]);
    for (const [path, content] of docs) {
      const current = await readFile(join(ROOT, path), 'utf8').catch(() => '(missing)');
      expect(current, `${path} ${STALE}`).toBe(content);
    }
  });

  it('is valid Mermaid state diagram syntax, and deterministic', () => {
    for (const { machine } of MACHINES) {
      expect(checkSyntax(toMermaid(machine))).toEqual([]);
      expect(toMermaid(machine)).toBe(toMermaid(machine));
    }
  });
});

describe('the job machine diagram', () => {
  const diagram = toMermaid(jobMachine);

  it('declares every state, nested ones inside their parent', () => {
    const states = [
      'pending',
      'queued',
      'backoff',
      'running',
      'attemptFailed',
      'completed',
      'failed',
      'cancelled',
    ];
    for (const state of states) expect(diagram).toMatch(new RegExp(`^\\s*state "${state}" as \\w+`, 'm'));
    expect(diagram).toMatch(/state "pending" as pending \{\n\s+\[\*\] --> pending_queued\n/);
    expect(diagram).toMatch(/^\s*state "running" as running$/m); // atomic: no block
    for (const final of ['completed', 'failed', 'cancelled']) expect(diagram).toContain(`${final} --> [*]`);
  });

  it('labels a transition with every event type (an edge, or a line of the state it stays in)', () => {
    const stays = [...diagram.matchAll(/^\s*\w+ : (\w+) .*\/ /gm)].map((m) => m[1]);
    const labels = [...edges(diagram).map((edge) => edge.label.split(' ')[0]), ...stays];
    for (const type of JOB_EVENT_TYPES) expect(labels, type).toContain(type);
  });

  it('shows guards, timers, eventless transitions and self-transitions', () => {
    const lines = edges(diagram).map(({ from, to, label }) => `${from} --> ${to} : ${label}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'running --> attemptFailed : after watchdog [timeoutDue]',
        'running --> attemptFailed : after watchdog [stallDue]',
        'pending_backoff --> pending_queued : after retryBackoff',
        'attemptFailed --> pending_backoff : always [canRetry]',
        'attemptFailed --> failed : always [else]',
        'pending_queued --> running : START',
        'running --> pending_queued : INTERRUPT',
        'pending --> cancelled : CANCEL',
        'running --> cancelled : CANCEL',
      ]),
    );
  });

  it("draws the root '*' catch-all as a note, not an edge", () => {
    expect(edges(diagram).filter((edge) => edge.label.startsWith('*'))).toEqual([]);
    expect(diagram).toMatch(
      /note right of pending\n\s+any event not accepted → reportRejected.*\n\s+end note/,
    );
  });

  it('draws a transition without a target as a line of its state, not an edge', () => {
    const supervisor = toMermaid(supervisorMachine);
    expect(supervisor).not.toMatch(/--> \S+ : START_JOB/);
    expect(supervisor).toContain('accepting : START_JOB / admitJob, dispatchQueued');
    expect(supervisor).toContain('note left of draining : START_JOB / rejectStart');
    expect(diagram).toContain('running : PROGRESS [isForwardProgress] / recordProgress');
    expect(diagram).toContain('running : after watchdog [else] / rearmWatchdog, armWatchdog');
    expect(supervisor).toContain('accepting --> draining : SHUTDOWN');
    expect(supervisor).toContain('draining_aborting : entry / interruptRunning');
    expect(diagram).toContain('running : entry / launchHandler');
    expect(diagram).toContain('running : exit / stopHandler');
  });
});

describe('toMermaid and toJSON', () => {
  it('handle parallel states, combined guards, delays, invokes and awkward names', () => {
    const machine = setup({
      guards: { a: () => true, b: () => true, c: () => true },
      actions: { log: assign({}) },
      actors: { svc: fromPromise(async () => 'done') },
    }).createMachine({
      id: 'demo',
      type: 'parallel',
      states: {
        left: {
          initial: 'end',
          states: {
            end: { on: { GO: { target: 'start', guard: or(['a', not('b')]) } } },
            start: { after: { 1000: 'end' } },
          },
        },
        'right side': {
          initial: 'x',
          states: {
            x: {
              entry: 'log',
              invoke: { src: 'svc', onDone: 'y' },
              on: {
                '*': 'y',
                'odd;event': { target: 'x', reenter: true, guard: and(['a', or(['b', 'c'])]) },
                NOTHING: { actions: 'log' },
              },
            },
            y: { type: 'final' },
          },
        },
      },
    });
    const diagram = toMermaid(machine);
    expect(checkSyntax(diagram)).toEqual([]);
    expect(diagram).toContain('state "demo" as demo {');
    expect(diagram).toMatch(/\}\n\s+--\n\s+state "right side" as right_side \{/);
    expect(diagram).toContain('state "end" as left_end_2'); // `left_end` is Mermaid's own
    expect(diagram).toContain('left_end_2 --> left_start_2 : GO [a || !b]');
    expect(diagram).toContain('left_start_2 --> left_end_2 : after 1000ms');
    expect(diagram).toContain('right_side_x --> right_side_y : *');
    expect(diagram).toContain('right_side_x --> right_side_x : odd,event [a && (b || c)]');
    expect(diagram).toContain('right_side_x --> right_side_y : onDone svc');
    expect(diagram).toContain('right_side_x : entry / log');
    expect(diagram).toContain('right_side_x : invoke svc');
    expect(diagram).toContain('right_side_x : NOTHING / log');
    expect(diagram).not.toMatch(/--> \S+ : NOTHING/);

    const json = toJSON(machine);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('keeps the job machine definition as JSON data, with the handler actions of running', () => {
    const json = toJSON(jobMachine) as {
      states: Record<
        string,
        {
          entry: unknown[];
          exit: unknown[];
          on: Record<string, { guard?: unknown }[]>;
        }
      >;
    };
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.states.running!.on.PROGRESS![0]!.guard).toBe('isForwardProgress');
    // Then the timer of `after watchdog`: scheduled on entry, cancelled on exit.
    expect(json.states.running!.entry).toEqual([{ type: 'launchHandler' }, { type: 'xstate.raise' }]);
    expect(json.states.running!.exit).toEqual([{ type: 'stopHandler' }, { type: 'xstate.cancel' }]);
  });
});

describe('README.md', () => {
  const codes = [...new Set([...Object.keys(ERROR_CODES), ...Object.keys(JOB_ERROR_CODES)])];

  it.each(codes)('documents the error code `%s`', async (code) => {
    expect((await readme()).includes(`\`${code}\``), `README.md does not mention \`${code}\``).toBe(true);
  });
});
