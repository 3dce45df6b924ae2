import { useState } from 'react';
import { download } from '../api/client.ts';
import type { Partition } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';
import { count, Progress, Status } from '../components/status.tsx';

/** The words the summary uses for a part's status, in the order it lists them. */
const SAID = {
  success: 'done',
  running: 'running',
  pending: 'waiting',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** A part's quarantine among the job's artifacts (the server's partQuarantineSuffix). */
export const partQuarantineArtifact = (stepId: string, index: number) =>
  `${stepId}.partition-${index + 1}.quarantine.ndjson`;

/** The job's partitions grouped by step, keeping the route's order (step, then index). */
export function partitionsByStep(items: readonly Partition[]): Map<string, Partition[]> {
  const steps = new Map<string, Partition[]>();
  for (const p of items) steps.set(p.stepId, [...(steps.get(p.stepId) ?? []), p]);
  return steps;
}

/** One line for a step's parts: "8 partitions: 5 done, 2 running, 1 waiting". */
export function partitionSummary(parts: readonly Partition[]): string {
  const by = new Map<string, number>();
  for (const p of parts) by.set(p.status, (by.get(p.status) ?? 0) + 1);
  // A status the UI does not know yet still counts, under its own name, after the known ones.
  const order = [...Object.keys(SAID), ...[...by.keys()].filter((s) => !(s in SAID))];
  const counts = order.flatMap((s) => {
    const n = by.get(s);
    return n ? [`${n} ${SAID[s as keyof typeof SAID] ?? s}`] : [];
  });
  return `${parts.length} ${parts.length === 1 ? 'partition' : 'partitions'}: ${counts.join(', ')}`;
}

/** What a part reads, in a few words: its files, its byte range of a file, or its range of keys. */
export function partLabel(part: unknown): string {
  const p = (part ?? {}) as Record<string, unknown>;
  if (Array.isArray(p.files)) {
    const files = p.files as string[];
    if (files.length === 0) return 'no files';
    return files.length === 1 ? files[0]! : `${files[0]} and ${files.length - 1} more`;
  }
  const start = p.start as { offset?: number; line?: number } | undefined;
  if (typeof start?.offset === 'number' && typeof p.end === 'number')
    return `from line ${count(start.line)} (bytes ${count(start.offset)}–${count(p.end)})`;
  if (p.from !== undefined && p.to !== undefined) return `keys ${String(p.from)}–${String(p.to)}`;
  return JSON.stringify(part);
}

/**
 * A partitioned step's parts, one row each, under a one-line summary. A part's quarantined count
 * downloads its own quarantine when the job has kept one (`artifacts`: the job's artifact names).
 */
export function PartitionsTable({
  jobId,
  stepId,
  partitions,
  artifacts,
}: {
  jobId: string;
  stepId: string;
  partitions: readonly Partition[];
  artifacts: ReadonlySet<string>;
}) {
  const [failed, setFailed] = useState<unknown>(null);
  return (
    <>
      <p role="status" aria-label={`partitions of ${stepId}`}>
        {partitionSummary(partitions)}
      </p>
      <ErrorNote error={failed} />
      <div className="table-wrap">
        <table aria-label={`partitions of ${stepId}`}>
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Reads</th>
              <th>Status</th>
              <th>Progress</th>
              <th className="num">Read</th>
              <th className="num">Written</th>
              <th className="num">Quarantined</th>
              <th className="num">Attempt</th>
              <th>Worker</th>
            </tr>
          </thead>
          <tbody>
            {partitions.map((p) => {
              const n = p.index + 1;
              const value = p.status === 'success' ? 100 : Math.round(p.progress);
              const quarantine = partQuarantineArtifact(stepId, p.index);
              return (
                <tr key={p.id}>
                  <td className="num">{n}</td>
                  <td title={JSON.stringify(p.part)}>{partLabel(p.part)}</td>
                  <td>
                    <Status status={p.status} />
                    {p.error && <div className="field-error">{p.error.message}</div>}
                  </td>
                  <td>
                    <div className="row">
                      <Progress value={value} label={`partition ${n} progress`} />
                      <span className="muted">{value}%</span>
                    </div>
                  </td>
                  <td className="num">{count(p.rowsRead)}</td>
                  <td className="num">{count(p.rowsWritten)}</td>
                  <td className="num">
                    {p.rowsQuarantined > 0 && artifacts.has(quarantine) ? (
                      <button
                        type="button"
                        className="link"
                        aria-label={`Download ${quarantine}`}
                        title={`Download ${quarantine}`}
                        // The API wants a bearer token, which a plain link cannot send: fetched, then saved.
                        onClick={() =>
                          download(
                            `/jobs/${jobId}/artifacts/${encodeURIComponent(quarantine)}`,
                            quarantine,
                          ).catch(setFailed)
                        }
                      >
                        {count(p.rowsQuarantined)}
                      </button>
                    ) : (
                      count(p.rowsQuarantined)
                    )}
                  </td>
                  <td className="num">{p.attempt > 0 ? p.attempt : '—'}</td>
                  <td>{p.workerId ?? '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
