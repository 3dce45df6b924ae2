import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { get } from '../api/client.ts';
import { type LiveMessage, useLive } from '../api/live.ts';
import type { LogLine, Page } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';

// A live view keeps at most this many lines: a chatty job cannot grow the page's memory.
export const MAX_LINES = 2000;
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

interface Line {
  time: string;
  level: string;
  stepId?: string | null;
  message: string;
}

export function JobLogs({ jobId, steps }: { jobId: string; steps: string[] }) {
  const [level, setLevel] = useState('INFO');
  const [search, setSearch] = useState('');
  const [stepId, setStepId] = useState('');
  const [follow, setFollow] = useState(true);
  const [live, setLive] = useState<Line[]>([]);
  const box = useRef<HTMLDivElement>(null);
  const query = new URLSearchParams({ limit: String(MAX_LINES), level });
  if (search) query.set('search', search);
  if (stepId) query.set('stepId', stepId);
  const stored = useQuery({
    queryKey: ['logs', jobId, query.toString()],
    queryFn: () => get<Page<LogLine>>(`/jobs/${jobId}/logs?${query}`),
  });
  // A new stored page replaces what the socket added: it already holds those lines.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the reset is caused by a new page, not read from it
  useEffect(() => setLive([]), [stored.data]);
  useLive(
    `job:${jobId}`,
    (m: LiveMessage) => {
      if (m.type !== 'log') return;
      const p = m.payload as { level: string; stepId?: string; message: string };
      if (LEVELS.indexOf(p.level) < LEVELS.indexOf(level)) return;
      if (stepId && p.stepId !== stepId) return;
      if (search && !p.message.toLowerCase().includes(search.toLowerCase())) return;
      setLive((l) =>
        [...l, { time: m.timestamp, level: p.level, stepId: p.stepId ?? null, message: p.message }].slice(
          -MAX_LINES,
        ),
      );
    },
    // Lines logged before the subscription reached the server are in the stored page.
    () => void stored.refetch(),
  );
  const lines: Line[] = [
    ...(stored.data?.items ?? []).map((l) => ({
      time: l.time ?? l.at ?? '',
      level: l.level,
      stepId: l.stepId ?? null,
      message: l.message,
    })),
    ...live,
  ].slice(-MAX_LINES);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  });
  return (
    <>
      <div className="row">
        <label className="inline">
          Level
          <select value={level} onChange={(e) => setLevel(e.target.value)}>
            {LEVELS.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <label className="inline">
          Step
          <select value={stepId} onChange={(e) => setStepId(e.target.value)}>
            <option value="">all</option>
            {steps.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="inline">
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <span className="muted">
          {lines.length} lines{lines.length >= MAX_LINES ? ` (the last ${MAX_LINES})` : ''}
        </span>
      </div>
      <ErrorNote error={stored.error} />
      <div className="logs" ref={box} role="log" aria-label="job log" aria-live="polite">
        {lines.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: log lines have no identity; the list only grows at its end
          <div key={i} className={`l-${l.level}`}>
            {l.time ? new Date(l.time).toLocaleTimeString() : ''} {l.level.padEnd(5)}{' '}
            {l.stepId ? `[${l.stepId}] ` : ''}
            {l.message}
          </div>
        ))}
      </div>
    </>
  );
}
