import type { Step } from '../api/types.ts';
import { duration } from '../components/status.tsx';

/** A Gantt of the job's steps: when each started and how long it ran, on one time axis. */
export function Timeline({ steps, now = Date.now() }: { steps: Step[]; now?: number }) {
  const started = steps.filter((s) => s.startedAt);
  if (started.length === 0) return <p className="muted">No step has started yet.</p>;
  const t0 = Math.min(...started.map((s) => Date.parse(s.startedAt!)));
  const end = (s: Step) => (s.completedAt ? Date.parse(s.completedAt) : now);
  const t1 = Math.max(t0 + 1, ...started.map(end));
  const span = t1 - t0;
  return (
    <ul className="gantt" aria-label="step timeline">
      {steps.map((s) => {
        const left = s.startedAt ? ((Date.parse(s.startedAt) - t0) / span) * 100 : 0;
        const width = s.startedAt ? ((end(s) - Date.parse(s.startedAt)) / span) * 100 : 0;
        return (
          <li key={s.stepId} className="bar-row">
            <span title={s.stepId}>{s.stepId}</span>
            <div className="track" title={`${s.stepId}: ${s.status}, ${duration(s.durationMs)}`}>
              {s.startedAt && (
                <div className={`bar ${s.status}`} style={{ left: `${left}%`, width: `${width}%` }} />
              )}
            </div>
          </li>
        );
      })}
      <li className="muted">total {duration(span)}</li>
    </ul>
  );
}
