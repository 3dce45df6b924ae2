import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { download, get } from '../api/client.ts';
import type { ComponentSpec, PipelineSpec } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';
import { count } from '../components/status.tsx';

/** Rows the preview shows. */
export const PREVIEW_ROWS = 50;

/** An entry of GET /jobs/{id}/datasets. */
export interface Dataset {
  name: string;
  writerStep: string;
  readerSteps: { stepId: string; status: string; rowsRead: number | null }[];
  rows: number;
  bytes: number;
  checksum: string;
  columns: { name: string; type: string }[];
  writtenAt: string;
}

interface Preview {
  name: string;
  rows: number;
  columns: { name: string; type: string }[];
  items: Record<string, unknown>[];
}

/** The edges a dataset adds to the job's DAG: writer → each reader, labelled with its name and rows. */
export function datasetLinks(datasets: Dataset[]) {
  return datasets.flatMap((d) =>
    d.readerSteps.map((r) => ({
      from: d.writerStep,
      to: r.stepId,
      label: `${d.name} · ${count(d.rows)} rows`,
    })),
  );
}

/**
 * The edges a pipeline's datasets add to its DAG before any run: a `sink: dataset` to each
 * `source: dataset` of the same name, labelled with the name (rows are known only once a job ran).
 */
export function specDatasetLinks(spec: PipelineSpec) {
  const named = (c: ComponentSpec) => (typeof c.with?.name === 'string' ? c.with.name : undefined);
  const writers = new Map<string, string>();
  for (const s of spec.steps ?? [])
    for (const c of s.flow ?? []) if (c.sink === 'dataset' && named(c)) writers.set(named(c)!, s.id);
  return (spec.steps ?? []).flatMap((s) =>
    (s.flow ?? []).flatMap((c) => {
      const from = c.source === 'dataset' ? writers.get(named(c) ?? '') : undefined;
      return from ? [{ from, to: s.id, label: `dataset ${named(c)}` }] : [];
    }),
  );
}

/** The datasets a job's steps handed each other: who wrote and read each, its first rows, its file. */
export function DatasetsPanel({ jobId, datasets }: { jobId: string; datasets: Dataset[] }) {
  const [open, setOpen] = useState<string | null>(null);
  const [failed, setFailed] = useState<unknown>(null);
  return (
    <>
      <ErrorNote error={failed} />
      <div className="table-wrap">
        <table aria-label="datasets">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Written by</th>
              <th>Read by</th>
              <th className="num">Rows</th>
              <th className="num">Bytes</th>
              <th>Checksum</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr key={d.name}>
                <td>{d.name}</td>
                <td>{d.writerStep}</td>
                <td>
                  {d.readerSteps.length === 0
                    ? '—'
                    : d.readerSteps
                        .map((r) =>
                          r.rowsRead === null ? r.stepId : `${r.stepId} (${count(r.rowsRead)} read)`,
                        )
                        .join(', ')}
                </td>
                <td className="num">{count(d.rows)}</td>
                <td className="num">{count(d.bytes)}</td>
                <td>
                  <code>{d.checksum}</code>
                </td>
                <td>
                  <button
                    type="button"
                    className="link"
                    onClick={() => setOpen(open === d.name ? null : d.name)}
                  >
                    {open === d.name ? 'Hide' : 'Preview'}
                  </button>{' '}
                  <button
                    type="button"
                    className="link"
                    // The API wants a bearer token, which a plain link cannot send: fetched, then saved.
                    onClick={() =>
                      download(
                        `/jobs/${jobId}/datasets/${encodeURIComponent(d.name)}/download`,
                        `${d.name}.parquet`,
                      ).catch(setFailed)
                    }
                  >
                    Download {d.name}.parquet
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && <DatasetPreview jobId={jobId} name={open} />}
    </>
  );
}

function DatasetPreview({ jobId, name }: { jobId: string; name: string }) {
  const preview = useQuery({
    queryKey: ['dataset-preview', jobId, name],
    queryFn: () =>
      get<Preview>(`/jobs/${jobId}/datasets/${encodeURIComponent(name)}/preview?limit=${PREVIEW_ROWS}`),
  });
  if (preview.error) return <ErrorNote error={preview.error} />;
  if (!preview.data) return <p className="muted">Loading the first rows of {name}…</p>;
  const { columns, items, rows } = preview.data;
  return (
    <>
      <p>
        First {count(items.length)} of {count(rows)} rows of <strong>{name}</strong>
      </p>
      <div className="table-wrap">
        <table aria-label={`preview of dataset ${name}`}>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.name} title={c.type}>
                  {c.name} <span className="muted">{c.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((row, i) => (
              // Rows have no key of their own; their order is the file's.
              // biome-ignore lint/suspicious/noArrayIndexKey: the preview never reorders rows
              <tr key={i}>
                {columns.map((c) => (
                  <td key={c.name}>{cell(row[c.name])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
