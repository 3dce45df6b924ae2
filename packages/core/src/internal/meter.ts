import type { ConnectorKind, Row, SchemaChange } from '../connector.ts';
import type { SinkVerification } from '../verify.ts';
import { Checksum } from './checksum.ts';

/** What one component of a flow did: the figures behind the integrity report. */
export interface ComponentStats {
  id: string;
  connector: string;
  kind: ConnectorKind;
  /** Rows that came in (for a source: rows read, good or bad). */
  rowsIn: number;
  /** Rows passed on (for a sink: rows the destination acknowledged). */
  rowsOut: number;
  rowsQuarantined: number;
  /**
   * Rows dropped on purpose, not quarantined: by a transform (a filter), or merged by a sink into
   * another row with the same key (an upsert).
   */
  rowsFiltered: number;
  /**
   * Order-independent checksum of the rows this component emitted: a source's only, and only when
   * one of the flow's sinks verifies content (hashing every row costs ~0.7 s of CPU a million rows).
   */
  checksum?: string;
  /** A sink's proof of what it wrote (see SinkVerification), once it closed. */
  verified?: SinkVerification;
  /**
   * A transform whose rows out are not its rows in less those it dropped (an aggregation): its
   * change of count is its doing, so none of it counts as filtered (see `reshapes`).
   */
  reshaped?: boolean;
  /** Time spent inside this component. */
  durationMs: number;
  location?: string;
  /** A sink's changes to its destination's schema, and what its schema contract set aside. */
  schemaChanges?: SchemaChange[];
}

export class Meter {
  readonly id: string;
  readonly connector: string;
  readonly kind: ConnectorKind;
  rowsIn = 0;
  rowsOut = 0;
  rowsQuarantined = 0;
  /** Sinks only: rows the destination merged into another with the same key. */
  rowsMerged = 0;
  ms = 0;
  location: string | undefined;
  verified: SinkVerification | undefined;
  schemaChanges: SchemaChange[] | undefined;
  /** Set when the component's rows are hashed (see ComponentStats.checksum). */
  checksum: Checksum | undefined;

  readonly #reshapes: boolean;

  constructor(id: string, connector: string, kind: ConnectorKind, hashing = false, reshapes = false) {
    this.id = id;
    this.#reshapes = reshapes;
    this.connector = connector;
    this.kind = kind;
    if (hashing) this.checksum = new Checksum();
  }

  emitted(rows: readonly Row[]): void {
    this.rowsOut += rows.length;
    this.checksum?.addRows(rows);
  }

  restore(s: ComponentStats): void {
    this.rowsIn = s.rowsIn;
    this.rowsOut = s.rowsOut;
    this.rowsQuarantined = s.rowsQuarantined;
    if (this.kind === 'sink') this.rowsMerged = s.rowsFiltered;
    this.ms = s.durationMs;
    if (this.checksum && s.checksum !== undefined) this.checksum = Checksum.from(s.checksum);
  }

  /** Rows a sink received that are neither quarantined nor merged: what it must acknowledge. */
  get rowsToAcknowledge(): number {
    return this.rowsIn - this.rowsQuarantined - this.rowsMerged;
  }

  stats(): ComponentStats {
    const filtered = this.#reshapes
      ? 0
      : this.kind === 'transform'
        ? Math.max(0, this.rowsIn - this.rowsOut - this.rowsQuarantined)
        : this.kind === 'sink'
          ? this.rowsMerged
          : 0;
    const s: ComponentStats = {
      id: this.id,
      connector: this.connector,
      kind: this.kind,
      rowsIn: this.rowsIn,
      rowsOut: this.rowsOut,
      rowsQuarantined: this.rowsQuarantined,
      rowsFiltered: filtered,
      durationMs: Math.round(this.ms),
    };
    if (this.#reshapes) s.reshaped = true;
    if (this.checksum) s.checksum = this.checksum.toString();
    if (this.location !== undefined) s.location = this.location;
    if (this.verified !== undefined) s.verified = this.verified;
    if (this.schemaChanges !== undefined) s.schemaChanges = this.schemaChanges;
    return s;
  }
}
