/**
 * Attributes a CPU profile's samples to the phases of a job (bench/phases.ts). Each sample goes to
 * the innermost frame of its stack that a rule names: the progress closure of a handler's context
 * is PROGRESS even though it runs inside the handler, a dispatch of queued jobs is START even when
 * a completion freed the slot. GC and V8's own time are read off the leaf.
 */
import type { Profiler } from 'node:inspector';

export const PHASES = [
  'start',
  'actor creation',
  'START',
  'PROGRESS',
  'COMPLETE',
  'fan-out',
  'store',
  'handler',
  'GC',
  'other',
] as const;

export type Phase = (typeof PHASES)[number];

interface Rule {
  readonly file: string;
  /** Function names; none: every function of the file. */
  readonly fns?: readonly string[];
  readonly phase: Phase;
}

/** Innermost first wins, so the order of the rules does not matter, only which frames they name. */
const RULES: readonly Rule[] = [
  { file: 'src/runtime/in-process.ts', fns: ['progress', 'heartbeat'], phase: 'PROGRESS' },
  { file: 'src/runtime/in-process.ts', fns: ['#run'], phase: 'COMPLETE' },
  { file: 'src/runtime/in-process.ts', fns: ['launch'], phase: 'START' },
  { file: 'src/supervisor/admission.ts', fns: ['dispatchQueued'], phase: 'START' },
  { file: 'src/supervisor/admission.ts', fns: ['admit'], phase: 'start' },
  { file: 'src/supervisor/admission.ts', fns: ['settle'], phase: 'COMPLETE' },
  { file: 'src/supervisor/job-cell.ts', fns: ['start'], phase: 'actor creation' },
  { file: 'src/supervisor/supervisor.ts', fns: ['start'], phase: 'start' },
  { file: 'src/supervisor/replies.ts', phase: 'start' },
  { file: 'src/supervisor/waiters.ts', phase: 'start' },
  { file: 'bench/jobvisor.ts', fns: ['startAll'], phase: 'start' },
  { file: 'bench/jobvisor.ts', fns: ['handler', ''], phase: 'handler' },
  { file: 'src/supervisor/announcer.ts', phase: 'fan-out' },
  { file: 'src/supervisor/fanout.ts', phase: 'fan-out' },
  { file: 'src/durability/follow.ts', phase: 'fan-out' },
  { file: 'src/durability/follower.ts', phase: 'fan-out' },
  { file: 'src/store/', phase: 'store' },
  { file: 'src/durability/group-commit.ts', phase: 'store' },
  { file: 'src/durability/durability.ts', phase: 'store' },
  { file: 'src/durability/records.ts', phase: 'store' },
  { file: 'better-sqlite3', phase: 'store' },
];

function ruleOf(frame: Profiler.ProfileNode['callFrame'], root: string): Phase | undefined {
  const url = frame.url.startsWith('file://') ? decodeURIComponent(frame.url.slice(7)) : frame.url;
  const path = url.startsWith(root) ? url.slice(root.length + 1) : url;
  for (const rule of RULES) {
    const inFile =
      rule.file.includes('/') && !rule.file.endsWith('/') ? path === rule.file : path.includes(rule.file);
    if (inFile && (!rule.fns || rule.fns.includes(frame.functionName))) return rule.phase;
  }
  return undefined;
}

export interface Attribution {
  /** µs of samples per phase. */
  readonly us: Record<Phase, number>;
  /** µs of all samples (idle excluded). */
  readonly totalUs: number;
  /** The frames whose self time went to `other`, largest first: what the rules could name next. */
  readonly unnamed: readonly { frame: string; us: number }[];
}

export function attribute(profile: Profiler.Profile, root: string): Attribution {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const phaseOf = new Map<number, Phase | null>();
  const resolve = (id: number): Phase | null => {
    const known = phaseOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const own = ruleOf(node.callFrame, root);
    const up = parent.get(id);
    const phase = own ?? (up === undefined ? null : resolve(up));
    phaseOf.set(id, phase);
    return phase;
  };
  const us = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  const unnamed = new Map<string, number>();
  let totalUs = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    const dt = deltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === '(idle)') continue;
    totalUs += dt;
    let phase: Phase;
    if (leaf.functionName === '(garbage collector)') phase = 'GC';
    else phase = resolve(id) ?? 'other';
    us[phase] += dt;
    if (phase === 'other') {
      const name = `${leaf.functionName || '(anonymous)'} ${leaf.url.split('/').slice(-2).join('/')}`;
      unnamed.set(name, (unnamed.get(name) ?? 0) + dt);
    }
  }
  const top = [...unnamed].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { us, totalUs, unnamed: top.map(([frame, t]) => ({ frame, us: t })) };
}
