/**
 * One WebSocket case: a client sends its frames, then one frame that is surely wrong; every frame
 * that is not a subscription must be answered with one `error` message (in order, so the last
 * answer is the closing frame's), and the connection must stay open.
 */
import WebSocket from 'ws';
import { LIMITS, type Problem } from './oracle.ts';
import { type Frame, isSubscription } from './ws.ts';

const LIVE_TYPES = new Set(['log', 'status', 'progress', 'complete', 'error']);

export async function wsCase(url: string, frames: readonly Frame[]): Promise<Problem[]> {
  const ws = new WebSocket(url);
  const answers: { type?: unknown; payload?: { message?: unknown } }[] = [];
  const problems: Problem[] = [];
  let closed: string | null = null;
  ws.on('message', (raw) => {
    try {
      answers.push(JSON.parse(String(raw)));
    } catch {
      problems.push({ kind: 'shape', detail: `an answer that is not JSON: ${String(raw).slice(0, 100)}` });
    }
  });
  ws.on('close', (code, reason) => {
    closed = `${code} ${String(reason)}`;
  });
  try {
    await new Promise((done, fail) => {
      ws.once('open', done);
      ws.once('error', fail);
    });
  } catch (err) {
    return [{ kind: '5xx', detail: `the WebSocket did not open: ${(err as Error).message}` }];
  }
  for (const f of frames) ws.send('text' in f ? f.text : f.binary, { binary: !('text' in f) });
  ws.send('"end"');
  const due = frames.filter((f) => !isSubscription(f)).length + 1;
  const t0 = Date.now();
  // Subscriptions to live channels may bring events too (a job running): only errors are counted.
  const errors = () => answers.filter((a) => a.type === 'error');
  while (errors().length < due && closed === null && Date.now() - t0 < LIMITS.hangMs)
    await new Promise((r) => setTimeout(r, 5));
  const n = errors().length;
  if (closed !== null) problems.push({ kind: '5xx', detail: `the server closed the connection: ${closed}` });
  else if (n < due)
    problems.push({ kind: 'hang', detail: `${n} error answers of ${due} after ${LIMITS.hangMs} ms` });
  else if (n > due) problems.push({ kind: 'shape', detail: `${n} error answers for ${due} bad frames` });
  for (const a of answers)
    if (
      !LIVE_TYPES.has(String(a.type)) ||
      (a.type === 'error' && (typeof a.payload?.message !== 'string' || a.payload.message.length === 0))
    )
      problems.push({
        kind: 'shape',
        detail: `an answer not in api-v1.md's shape: ${JSON.stringify(a).slice(0, 200)}`,
      });
  ws.close();
  return problems;
}
