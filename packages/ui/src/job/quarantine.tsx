import { useQuery } from '@tanstack/react-query';
import { currentSession } from '../api/client.ts';
import { ErrorNote } from '../components/feedback.tsx';

export const SAMPLE = 20;

interface Quarantined {
  step?: string;
  component?: string;
  reason?: string;
  file?: string;
  line?: number;
  raw?: string;
}

/** The first quarantined rows of a step, with their reasons and line numbers. */
export function QuarantineSample({ jobId, artifact }: { jobId: string; artifact: string }) {
  const sample = useQuery({
    queryKey: ['quarantine', jobId, artifact],
    queryFn: async () => {
      const r = await fetch(`/api/v1/jobs/${jobId}/artifacts/${encodeURIComponent(artifact)}`, {
        headers: { authorization: `Bearer ${currentSession()?.accessToken ?? ''}` },
      });
      if (!r.ok) throw new Error(`cannot read ${artifact}: ${r.status}`);
      // Only the head of the file is read: a sample, whatever the quarantine's size.
      const reader = r.body!.getReader();
      let text = '';
      const decoder = new TextDecoder();
      while (text.split('\n').length <= SAMPLE) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      return text
        .split('\n')
        .filter((l) => l.trim())
        .slice(0, SAMPLE)
        .map((l) => {
          try {
            return JSON.parse(l) as Quarantined;
          } catch {
            return { raw: l } as Quarantined;
          }
        });
    },
  });
  return (
    <>
      <ErrorNote error={sample.error} />
      {sample.data && (
        <div className="table-wrap">
          <table aria-label={`quarantined rows of ${artifact}`}>
            <thead>
              <tr>
                <th>Line</th>
                <th>Reason</th>
                <th>Raw</th>
              </tr>
            </thead>
            <tbody>
              {sample.data.map((q, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a sample is positional and fetched whole
                <tr key={i}>
                  <td className="num">{q.line ?? '—'}</td>
                  <td>{q.reason}</td>
                  <td>
                    <code>{q.raw}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
