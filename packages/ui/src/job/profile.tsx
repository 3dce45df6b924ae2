import type { Step } from '../api/types.ts';
import { count, duration } from '../components/status.tsx';

interface ComponentStats {
  id: string;
  connector: string;
  kind: string;
  rowsIn: number;
  rowsOut: number;
  durationMs: number;
}
interface Report {
  components?: ComponentStats[];
  resources?: { cpuMs: number; peakRssBytes: number; peakScope?: 'step' | 'process' };
}

/** Each component's share of its flow's time, from the step report: where the time went. */
export function shares(components: ComponentStats[]) {
  const total = components.reduce((a, c) => a + c.durationMs, 0);
  const slowest = components.reduce<ComponentStats | null>(
    (m, c) => (m && m.durationMs >= c.durationMs ? m : c),
    null,
  );
  return components.map((c) => ({
    ...c,
    share: total > 0 ? c.durationMs / total : 0,
    rowsPerSecond: c.durationMs > 0 ? Math.round((c.rowsIn / c.durationMs) * 1000) : null,
    slowest: c === slowest && total > 0,
  }));
}

const mb = (b: number) => `${Math.round(b / 1048576)} MB`;

/**
 * The step's own peak, or — from a process whose mark could not be reset, or a report from before
 * the scope was kept — the peak of a process that may have run other steps first: said so. A
 * task's commands are processes of their own, which the figure does not count: said too, or a
 * `wc -l` would seem to take what the engine around it holds.
 */
export function peakLabel(r: NonNullable<Report['resources']>, kind?: string): string {
  const label = r.peakScope === 'step' ? 'peak memory' : 'process peak memory';
  return `${label} ${mb(r.peakRssBytes)}${kind === 'task' ? ' (step process; its commands not counted)' : ''}`;
}

export function RunProfile({ steps }: { steps: Step[] }) {
  const profiled = steps.filter((s) => s.report);
  if (profiled.length === 0) return <p className="muted">No step has finished yet.</p>;
  return (
    <>
      {profiled.map((s) => {
        const r = s.report as Report;
        const rows = shares(r.components ?? []);
        const top = rows.find((c) => c.slowest);
        return (
          <div key={s.stepId} className="profile">
            <h3>
              {s.stepId}{' '}
              <small className="muted">
                {duration(s.durationMs)}
                {r.resources ? `, CPU ${duration(r.resources.cpuMs)}, ${peakLabel(r.resources, s.kind)}` : ''}
              </small>
            </h3>
            {top && rows.length > 1 && (
              <p>
                <strong>{top.id}</strong>: {Math.round(top.share * 100)}% of the flow
              </p>
            )}
            {rows.length > 1 && (
              <table aria-label={`profile of ${s.stepId}`}>
                <thead>
                  <tr>
                    <th>Component</th>
                    <th className="num">Time</th>
                    <th>Share</th>
                    <th className="num">Rows in</th>
                    <th className="num">Rows/s</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((c) => (
                    <tr key={c.id} className={c.slowest ? 'slowest' : ''}>
                      <td>
                        {c.id}
                        {c.slowest && <span className="status status-running">slowest</span>}
                      </td>
                      <td className="num">{duration(Math.round(c.durationMs))}</td>
                      <td>
                        <div className="progress" title={`${Math.round(c.share * 100)}%`}>
                          <div style={{ width: `${c.share * 100}%` }} />
                        </div>
                      </td>
                      <td className="num">{count(c.rowsIn)}</td>
                      <td className="num">{c.rowsPerSecond === null ? '—' : count(c.rowsPerSecond)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
    </>
  );
}
