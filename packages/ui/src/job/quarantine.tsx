import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { download, get } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';
import { Pager } from '../components/pager.tsx';
import { count } from '../components/status.tsx';

/** Rows per page of a step's quarantine. */
export const QUARANTINE_PAGE = 20;

/** An entry of GET /jobs/{id}/quarantine. */
export interface QuarantinedRow {
  index: number;
  component: string;
  reason: string;
  line?: number;
  /** The record's text: the source's raw text, or the row (as JSON) a transform or sink set aside. */
  raw: string;
}

/**
 * One step's quarantined rows, page by page from the server (the file may be large: only a page
 * travels), with the whole file to download.
 */
export function QuarantineTable({
  jobId,
  stepId,
  artifact,
}: {
  jobId: string;
  stepId: string;
  artifact: string;
}) {
  const [offset, setOffset] = useState(0);
  const page = useQuery({
    queryKey: ['quarantine', jobId, stepId, offset],
    queryFn: () =>
      get<Page<QuarantinedRow>>(
        `/jobs/${jobId}/quarantine?step=${encodeURIComponent(stepId)}&limit=${QUARANTINE_PAGE}&offset=${offset}`,
      ),
    // The page shown stays while the next loads: the table does not jump.
    placeholderData: keepPreviousData,
  });
  const [failed, setFailed] = useState<unknown>(null);
  const total = page.data?.total ?? 0;
  return (
    <>
      <div className="spread">
        <p>
          <strong>{count(total)}</strong> quarantined {total === 1 ? 'row' : 'rows'}
        </p>
        <button
          type="button"
          className="link"
          // The API wants a bearer token, which a plain link cannot send: fetched, then saved.
          onClick={() =>
            download(`/jobs/${jobId}/artifacts/${encodeURIComponent(artifact)}`, artifact).catch(setFailed)
          }
        >
          Download {artifact}
        </button>
      </div>
      <ErrorNote error={page.error ?? failed} />
      {page.data && (
        <>
          <div className="table-wrap">
            <table aria-label={`quarantined rows of ${stepId}`}>
              <thead>
                <tr>
                  <th className="num">#</th>
                  <th className="num">Line</th>
                  <th>Reason</th>
                  <th>Record</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((q) => (
                  <tr key={q.index}>
                    <td className="num">{q.index + 1}</td>
                    <td className="num">{q.line ?? '—'}</td>
                    <td>
                      {q.reason}
                      <div className="muted">{q.component}</div>
                    </td>
                    <td>
                      <code>{q.raw}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager total={total} limit={QUARANTINE_PAGE} offset={offset} onOffset={setOffset} />
        </>
      )}
    </>
  );
}
