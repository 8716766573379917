/**
 * The job machine diagram's layout as scripts/machine-layout.ts writes it (dashboard/src/
 * job-layout.json, made at build time by ELK): states as boxes, transitions as orthogonal routes
 * with their labels' boxes, in absolute coordinates.
 */

/** The order ELK was given the states in: the top level's (key `*`) and each compound's children. */
export type StateOrder = Readonly<Record<string, readonly string[]>>;

export interface LaidState {
  readonly id: string;
  readonly label: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** A compound state, drawn as a group around its children. */
  readonly group: boolean;
  readonly final: boolean;
}

export interface LaidEdge {
  readonly from: string;
  readonly to: string;
  /** Its transitions' events (and guards, delays), comma-separated. */
  readonly label: string;
  /** The route: start, bends, end. */
  readonly points: readonly (readonly [number, number])[];
  readonly labelBox: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
}

export interface JobLayout {
  readonly order: StateOrder;
  readonly width: number;
  readonly height: number;
  /** The state a job starts in (`pending`'s initial child, or `pending`). */
  readonly initial: string | null;
  readonly states: readonly LaidState[];
  readonly edges: readonly LaidEdge[];
}
