import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { can } from '../access.ts';
import { api, get, type Role } from '../api/client.ts';
import { Empty, ErrorNote } from './feedback.tsx';
import { when } from './status.tsx';

export interface StepState {
  stepId: string;
  state: Record<string, unknown>;
  jobId: string | null;
  updatedAt: string;
}

/**
 * What each step keeps between jobs (an incremental source's cursor), with a Reset button for the
 * roles that may delete it (the server checks and audits it).
 */
export function StepStatePanel({ pipelineId, role }: { pipelineId: string; role: Role | undefined }) {
  const qc = useQueryClient();
  const key = ['pipeline-state', pipelineId];
  const state = useQuery({
    queryKey: key,
    queryFn: () => get<{ items: StepState[] }>(`/pipelines/${pipelineId}/state`),
  });
  const reset = useMutation({
    mutationFn: (stepId: string) =>
      api('DELETE', `/pipelines/${pipelineId}/state?step=${encodeURIComponent(stepId)}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: key }),
  });
  const resettable = can(role, 'pipelines:reset-state');
  return (
    <section className="panel" aria-label="state between runs">
      <h2>State between runs</h2>
      <ErrorNote error={state.error ?? reset.error} />
      {state.data?.items.length ? (
        <table>
          <tbody>
            {state.data.items.map((s) => (
              <tr key={s.stepId}>
                <td>{s.stepId}</td>
                <td>
                  {Object.entries(s.state).map(([k, v]) => (
                    <div key={k}>
                      {k}: <code>{JSON.stringify(v)}</code>
                    </div>
                  ))}
                </td>
                <td>saved {when(s.updatedAt)}</td>
                {resettable && (
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      disabled={reset.isPending}
                      aria-label={`Reset ${s.stepId}`}
                      onClick={() => {
                        if (
                          confirm(
                            `Reset the state of step ${s.stepId}? Its next run reads from the beginning.`,
                          )
                        )
                          reset.mutate(s.stepId);
                      }}
                    >
                      Reset
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No step keeps state yet (an incremental source saves its cursor when a run succeeds).</Empty>
      )}
    </section>
  );
}
