import { Link } from 'react-router';
import { Empty } from '../components/feedback.tsx';
import { Status, when } from '../components/status.tsx';
import { cronWords } from './cron-words.ts';

export interface Schedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  paused: boolean;
  nextRunAt: string | null;
}

/** The pipeline's schedules, read-only here: they are created and changed on the Schedules page. */
export function SchedulesPanel({
  pipelineId,
  schedules,
}: {
  pipelineId: string;
  schedules: Schedule[] | undefined;
}) {
  return (
    <section className="panel" aria-labelledby="schedules-heading">
      <h2 id="schedules-heading">Schedules</h2>
      {schedules?.length ? (
        <ul className="schedule-list" aria-label="schedules">
          {schedules.map((s) => {
            const words = cronWords(s.cron);
            return (
              <li key={s.id}>
                <div>
                  <code>{s.cron}</code> <span className="muted">{s.timezone}</span>
                  {s.paused && (
                    <>
                      {' '}
                      <Status status="paused" />
                    </>
                  )}
                </div>
                {words && <div>{words}</div>}
                <div className="muted">
                  {s.paused ? 'not running while paused' : `next ${when(s.nextRunAt)}`}
                </div>
              </li>
            );
          })}
        </ul>
      ) : (
        <Empty>Not scheduled.</Empty>
      )}
      <Link to={`/schedules?pipelineId=${pipelineId}`}>Manage schedules</Link>
    </section>
  );
}
