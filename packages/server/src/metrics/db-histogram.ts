import type { Histogram } from 'prom-client';
import { DURATION_BUCKETS, type HistogramSeries } from './snapshot.ts';

/**
 * A histogram whose buckets are counted by the database at scrape time. prom-client's own
 * Histogram only grows by `observe()`, one value at a time, and keeps its buckets private; the
 * registry, though, reads any metric through `get()` alone, so this object answers `get()` with
 * bucket, sum and count values in the shape prom-client's Histogram gives (cumulative buckets, `le`
 * labels, a `+Inf` bucket equal to the count).
 */
export class DbHistogram {
  readonly type = 'histogram';
  // Every process reports the same fleet-wide figures: a cluster aggregation must not add them up.
  readonly aggregator = 'first';
  readonly labelNames: string[];

  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: string[],
    private readonly read: () => Promise<HistogramSeries[]>,
  ) {
    this.labelNames = labelNames;
  }

  async get() {
    const m = this.name;
    const values = (await this.read()).flatMap((h) => [
      ...DURATION_BUCKETS.map((le, i) => ({
        metricName: `${m}_bucket`,
        labels: { ...h.labels, le },
        value: h.buckets[i]!,
      })),
      { metricName: `${m}_bucket`, labels: { ...h.labels, le: '+Inf' }, value: h.count },
      { metricName: `${m}_sum`, labels: h.labels, value: h.sum },
      { metricName: `${m}_count`, labels: h.labels, value: h.count },
    ]);
    return { name: m, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Nothing is kept here between scrapes. */
  reset(): void {}

  /** For `Registry.registerMetric`, whose type names prom-client's classes but which calls `get()` only. */
  asMetric(): Histogram {
    return this as unknown as Histogram;
  }
}
