import { useState } from 'react';
import { useNavigate } from 'react-router';
import type { Job } from '../api/types.ts';
import { duration } from '../components/status.tsx';

const HEIGHT = 48;
const SLOT = 12;
const BAR = 8;
/** A bar never vanishes: a job that has not finished, or took no time, still shows where it is. */
const FLOOR = 3;

const TONE: Record<string, string> = {
  success: 'var(--ok)',
  failed: 'var(--bad)',
  timeout: 'var(--bad)',
  cancelled: '#94a3b8',
};

export const describe = (j: Job) => `${j.id.slice(0, 8)} · ${j.status} · ${duration(j.durationMs)}`;

/**
 * One bar per job, oldest on the left, as tall as its duration against the longest shown; the
 * colour is its status. Hovering or focusing a bar names the job; clicking opens it.
 */
export function DurationSparkline({ jobs, slots = 30 }: { jobs: Job[]; slots?: number }) {
  const navigate = useNavigate();
  const [focus, setFocus] = useState<Job | null>(null);
  const oldestFirst = [...jobs].reverse();
  const longest = Math.max(1, ...oldestFirst.map((j) => j.durationMs ?? 0));
  // A fixed width with the newest bar at the right edge: bars keep their place as jobs arrive.
  const width = Math.max(slots, oldestFirst.length) * SLOT;
  const left = width - oldestFirst.length * SLOT;
  return (
    <figure
      className="sparkline"
      aria-label={`Durations of the last ${oldestFirst.length} jobs, oldest first`}
      onMouseLeave={() => setFocus(null)}
    >
      <svg
        viewBox={`0 0 ${width} ${HEIGHT}`}
        preserveAspectRatio="none"
        style={{ maxWidth: width }}
        height={HEIGHT}
      >
        <title>Job durations, oldest first; each bar links to its job</title>
        <line x1={0} x2={width} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} stroke="var(--line)" />
        {oldestFirst.map((j, i) => {
          const h = Math.max(FLOOR, ((j.durationMs ?? 0) / longest) * HEIGHT);
          return (
            <a
              key={j.id}
              href={`/jobs/${j.id}`}
              aria-label={`job ${describe(j)}`}
              onClick={(e) => {
                e.preventDefault();
                void navigate(`/jobs/${j.id}`);
              }}
              onMouseEnter={() => setFocus(j)}
              onFocus={() => setFocus(j)}
              onBlur={() => setFocus(null)}
            >
              <rect
                className="spark-mark"
                data-status={j.status}
                x={left + i * SLOT + (SLOT - BAR) / 2}
                y={HEIGHT - h}
                width={BAR}
                height={h}
                rx={1.5}
                fill={TONE[j.status] ?? 'var(--accent)'}
                opacity={focus && focus.id !== j.id ? 0.45 : 1}
              >
                <title>{describe(j)}</title>
              </rect>
            </a>
          );
        })}
      </svg>
      <figcaption className="muted" aria-live="polite">
        {focus ? describe(focus) : `Longest ${duration(longest)}; hover a bar for its job.`}
      </figcaption>
    </figure>
  );
}
