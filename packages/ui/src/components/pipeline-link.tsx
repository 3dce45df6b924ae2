import { Link } from 'react-router';
import type { Job } from '../api/types.ts';

/**
 * A job's pipeline, linked by name and the version the job ran. The id stands in only where the
 * API gave no name (a job whose pipeline row is gone).
 */
export function PipelineLink({ job }: { job: Pick<Job, 'pipelineId' | 'pipelineName' | 'pipelineVersion'> }) {
  return (
    <>
      <Link to={`/pipelines/${job.pipelineId}`}>{job.pipelineName ?? job.pipelineId.slice(0, 8)}</Link>{' '}
      <span className="muted">v{job.pipelineVersion}</span>
    </>
  );
}

/** "orders-daily · job 1a2b3c4d · success": the job page's heading and the tab's title. */
export function jobTitle(job: Pick<Job, 'id' | 'pipelineId' | 'pipelineName' | 'status'>): string {
  return `${job.pipelineName ?? job.pipelineId.slice(0, 8)} · job ${job.id.slice(0, 8)} · ${job.status}`;
}
