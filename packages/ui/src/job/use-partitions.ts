import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { get } from '../api/client.ts';
import { useThrottled } from '../api/throttled.ts';
import type { Partition } from '../api/types.ts';
import { partitionsByStep } from './partitions.tsx';

/** Running parts each report progress about once a second: however many, one fetch a second. */
export const PARTITIONS_REFRESH_MS = 1000;

/**
 * A job's partitions by step (none for a job without partitioned steps), and `refresh` for the
 * page to call on a part's live event, throttled. While a part has not ended, a slow poll covers
 * a missed message, as the job's own does.
 */
export function usePartitions(jobId: string) {
  const qc = useQueryClient();
  const query = useQuery({
    queryKey: ['partitions', jobId],
    queryFn: () => get<{ items: Partition[] }>(`/jobs/${jobId}/partitions`),
    refetchInterval: (q) =>
      q.state.data?.items.some((p) => p.status === 'pending' || p.status === 'running') ? 5000 : false,
  });
  const items = query.data?.items;
  const byStep = useMemo(() => partitionsByStep(items ?? []), [items]);
  const refresh = useThrottled(
    () => void qc.invalidateQueries({ queryKey: ['partitions', jobId] }),
    PARTITIONS_REFRESH_MS,
  );
  return { byStep, ended: (items ?? []).filter((p) => p.completedAt !== null).length, refresh };
}
