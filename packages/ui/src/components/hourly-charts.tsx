// The dashboard's charts, drawn with uPlot. This module is loaded on demand (React.lazy), so uPlot
// and its stylesheet stay out of the first page's JavaScript budget.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface HourTotals {
  /** Start of the hour, ISO. */
  hour: string;
  success: number;
  failed: number;
  total: number;
  rows: number;
  busyMs: number;
}

const HEIGHT = 200;
const HALF_HOUR = 1800;
const hhmm = (s: number) =>
  new Date(s * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const day = (s: number) => new Date(s * 1000).toLocaleDateString([], { month: 'short', day: 'numeric' });
const color = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
const fmt = new Intl.NumberFormat();
const fine = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const rowsPerSecond = (v: number) => (v < 10 ? fine.format(v) : fmt.format(Math.round(v)));

/**
 * Bars sit at the middle of their hour (x = start + 30 min) so the hour's ticks fall on the bars'
 * edges; the legend names the hour as a range.
 */
const hourAxis = (): uPlot.Axis => ({
  label: 'Hour (local time)',
  stroke: color('--muted', '#667085'),
  grid: { show: false },
  ticks: { stroke: color('--line', '#e3e6eb') },
  space: 56,
  values: (_u, splits) => splits.map((s) => (new Date(s * 1000).getHours() === 0 ? day(s) : hhmm(s))),
});
const hourSeries = (): uPlot.Series => ({
  label: 'Hour',
  value: (_u, v) => (v == null ? '—' : `${hhmm(v - HALF_HOUR)}–${hhmm(v + HALF_HOUR)}`),
});
const valueAxis = (label: string, integers: boolean): uPlot.Axis => ({
  label,
  stroke: color('--muted', '#667085'),
  grid: { stroke: color('--line', '#e3e6eb'), width: 1 },
  ticks: { show: false },
  size: 56,
  ...(integers ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000] } : {}),
  values: (_u, splits) => splits.map((v) => fmt.format(v)),
});
const xRange = (hours: HourTotals[]): uPlot.Range.MinMax => {
  const first = Date.parse(hours[0]!.hour) / 1000;
  return [first, first + hours.length * 2 * HALF_HOUR];
};
const mids = (hours: HourTotals[]) => hours.map((h) => Date.parse(h.hour) / 1000 + HALF_HOUR);

type Plan = { data: uPlot.AlignedData; options: Omit<uPlot.Options, 'width' | 'height'> };

/**
 * A uPlot chart in a box that follows its container's width. `plan` is a module-level function, so
 * the chart is rebuilt only when the hours change (the query keeps their identity while equal), not
 * on every render of the page, which would drop the hover.
 */
function Plot({
  hours,
  plan,
  label,
}: {
  hours: HourTotals[];
  plan: (hours: HourTotals[]) => Plan;
  label: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const { data, options } = plan(hours);
    const width = () => Math.max(200, el.clientWidth);
    const plot = new uPlot({ ...options, width: width(), height: HEIGHT }, data, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [hours, plan]);
  return <figure className="uplot-box" ref={box} aria-label={label} />;
}

/** Jobs per hour, stacked: succeeded, failed (or timed out), and the rest (queued, running, cancelled). */
function jobsPlan(hours: HourTotals[]): Plan {
  const success = hours.map((h) => h.success);
  const failed = hours.map((h) => h.failed);
  const other = hours.map((h) => Math.max(0, h.total - h.success - h.failed));
  const raw = [[], success, failed, other];
  const bars = uPlot.paths.bars!({ size: [0.7, 40] });
  const series = (label: string, fill: string): uPlot.Series => ({
    label,
    fill,
    stroke: fill,
    width: 0,
    paths: bars,
    points: { show: false },
    value: (_u, _v, s, i) => (i == null ? '—' : fmt.format(raw[s]![i] ?? 0)),
  });
  return {
    // uPlot does not stack: each series holds the running sum, drawn from the one below it (bands),
    // while the legend shows the series' own count.
    data: [
      mids(hours),
      success,
      success.map((s, i) => s + failed[i]!),
      success.map((s, i) => s + failed[i]! + other[i]!),
    ],
    options: {
      scales: {
        x: { time: true, range: () => xRange(hours) },
        y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] },
      },
      axes: [hourAxis(), valueAxis('Jobs', true)],
      series: [
        hourSeries(),
        series('Succeeded', color('--ok', '#15803d')),
        series('Failed', color('--bad', '#c0262d')),
        series('Other', '#94a3b8'),
      ],
      bands: [{ series: [2, 1] }, { series: [3, 2] }],
      cursor: { y: false, points: { show: false } },
    },
  };
}

/**
 * Rows read per second of job run time, per hour: the hour's rows read over its finished jobs'
 * summed run time. An hour with no finished job has no bar.
 */
function rowsPlan(hours: HourTotals[]): Plan {
  const accent = color('--accent', '#2454d6');
  return {
    data: [
      mids(hours),
      hours.map((h) => (h.busyMs > 0 ? h.rows / (h.busyMs / 1000) : null)),
      hours.map((h) => h.rows),
    ],
    options: {
      scales: {
        x: { time: true, range: () => xRange(hours) },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
        rows: { auto: true },
      },
      axes: [hourAxis(), valueAxis('Rows/s', false)],
      series: [
        hourSeries(),
        {
          label: 'Rows/s',
          fill: accent,
          stroke: accent,
          width: 0,
          paths: uPlot.paths.bars!({ size: [0.7, 40] }),
          points: { show: false },
          value: (_u, v) => (v == null ? '—' : rowsPerSecond(v)),
        },
        // The hour's rows, for the legend only: on a scale of its own, and never drawn.
        {
          label: 'Rows read',
          scale: 'rows',
          stroke: color('--muted', '#667085'),
          paths: () => null,
          points: { show: false },
          value: (_u, v) => (v == null ? '—' : fmt.format(v)),
        },
      ],
      cursor: { y: false },
    },
  };
}

export function JobsChart({ hours }: { hours: HourTotals[] }) {
  return (
    <Plot
      hours={hours}
      plan={jobsPlan}
      label="Jobs per hour, last 24 hours: succeeded, failed and other, stacked"
    />
  );
}

export function RowsChart({ hours }: { hours: HourTotals[] }) {
  return (
    <Plot
      hours={hours}
      plan={rowsPlan}
      label="Rows read per second of job run time, per hour, last 24 hours"
    />
  );
}
