import type { Step } from '../api/types.ts';
import { count } from '../components/status.tsx';

/**
 * What a running stream's step shows beside its counts: how many messages wait at the broker and
 * when it last checkpointed (its last acknowledgement), see docs/streaming.md.
 */
export function StreamNote({ step }: { step: Step }) {
  if (!step.streaming) return null;
  const parts = ['stream from a queue'];
  if (step.status === 'running') {
    if (step.lag !== null && step.lag !== undefined) parts.push(`${count(step.lag)} waiting`);
    parts.push(
      step.checkpointedAt
        ? `last checkpoint ${new Date(step.checkpointedAt).toLocaleTimeString()}`
        : 'no checkpoint yet',
    );
  }
  return (
    <div className="muted" role="status" aria-label={`${step.stepId} stream`}>
      {parts.join(' · ')}
    </div>
  );
}
