import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Job, Page } from '../api/types.ts';
import { ErrorNote, Listing } from '../components/feedback.tsx';
import { PipelineLink } from '../components/pipeline-link.tsx';
import { when } from '../components/status.tsx';

export function DlqPage() {
  const qc = useQueryClient();
  const role = currentSession()?.user.role;
  const list = useQuery({ queryKey: ['dlq'], queryFn: () => get<Page<Job>>('/dlq?limit=200') });
  const requeue = useMutation({
    mutationFn: (j: Job) => api<unknown>('POST', `/dlq/${j.id}/requeue`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['dlq'] }),
  });
  return (
    <>
      <h1>Dead-letter queue</h1>
      <p className="muted">
        Jobs whose every attempt failed. Requeueing runs them again from the failed step.
      </p>
      <ErrorNote error={list.error ?? requeue.error} />
      <Listing query={list} empty="The dead-letter queue is empty.">
        {(items) => (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th>Pipeline</th>
                <th>Attempts</th>
                <th>Error</th>
                <th>Failed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((j) => (
                <tr key={j.id}>
                  <td>
                    <Link to={`/jobs/${j.id}`}>{j.id.slice(0, 8)}</Link>
                  </td>
                  <td>
                    <PipelineLink job={j} />
                  </td>
                  <td>{j.attempt}</td>
                  <td>{j.error?.message}</td>
                  <td>{when(j.completedAt)}</td>
                  <td>
                    {can(role, 'jobs:retry') && (
                      <button type="button" onClick={() => requeue.mutate(j)}>
                        Requeue
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Listing>
    </>
  );
}
