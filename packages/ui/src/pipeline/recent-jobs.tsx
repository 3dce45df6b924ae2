import { Link } from 'react-router';
import type { Job } from '../api/types.ts';
import { Empty } from '../components/feedback.tsx';
import { duration, Status, when } from '../components/status.tsx';
import { DurationSparkline } from './duration-sparkline.tsx';

/** How many recent jobs the page fetches: the sparkline's width. */
export const RECENT = 30;
/** How many of the recent jobs the table lists; the sparkline shows all that were fetched. */
const LISTED = 10;

/** The pipeline's recent jobs, newest first (as the jobs API returns them), with their durations. */
export function RecentJobs({ jobs, total }: { jobs: Job[] | undefined; total: number }) {
  return (
    <section className="panel" aria-labelledby="recent-heading">
      <h2 id="recent-heading">Recent jobs</h2>
      {jobs?.length ? (
        <>
          <DurationSparkline jobs={jobs} slots={RECENT} />
          <div className="scroll-x">
            <table aria-label="recent jobs">
              <tbody>
                {jobs.slice(0, LISTED).map((j) => (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/jobs/${j.id}`}>{j.id.slice(0, 8)}</Link>
                    </td>
                    <td>
                      <Status status={j.status} />
                    </td>
                    <td>{j.triggerType}</td>
                    <td>{when(j.createdAt)}</td>
                    <td className="num">{duration(j.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {total > LISTED && (
            <Link to={`/jobs?pipelineId=${jobs[0]!.pipelineId}`}>All {total} jobs of this pipeline</Link>
          )}
        </>
      ) : (
        <Empty>No jobs yet.</Empty>
      )}
    </section>
  );
}
