import { parentPort } from 'node:worker_threads';
import type { ConnectorDefinition } from '../../connector.ts';
import { ErrorCode, SluiceError } from '../../errors.ts';
import type { Registry } from '../../registry.ts';
import { ChunkFlow } from './chunk-flow.ts';
import { type FlowComponent, type FromWorker, serializeError, type ToWorker } from './messages.ts';

function lookUp(registry: Registry, c: FlowComponent): ConnectorDefinition {
  const def = registry.get(c.kind, c.name);
  if (def.version !== c.version) {
    throw new SluiceError(
      ErrorCode.INTERNAL,
      `${c.id}: the worker threads load ${c.kind} "${c.name}" ${def.version}, the flow uses ${c.version}; ` +
        'run with --threads 1 (parallel: false) to keep this flow on the main thread',
    );
  }
  return def;
}

/**
 * The body of a flow worker thread: serves one flow's chunks with the connectors of `registry`.
 * A worker module (see WorkerModule) calls it with a registry holding the same connectors as
 * the main thread's. Chunks are handled one after another, in the order they arrive.
 */
export function serveFlowChunks(registry: Registry): void {
  const port = parentPort;
  if (port === null) throw new Error('serveFlowChunks must run in a worker thread');
  // Ends with the thread: the pool terminates its workers when the flow stops.
  const signal = new AbortController().signal;
  let flow: ChunkFlow | undefined;
  let queue = Promise.resolve();
  const handle = async (msg: ToWorker): Promise<void> => {
    try {
      if (msg.type === 'init') {
        // A thread kept from an earlier flow must not serve this one's chunks with that flow.
        flow = undefined;
        flow = await ChunkFlow.create(
          msg.components.map((c) => lookUp(registry, c)),
          msg,
          signal,
        );
        const reply: FromWorker = { type: 'ready', logs: msg.logSetup ? flow.takeLogs() : [] };
        flow.takeLogs();
        port.postMessage(reply);
        return;
      }
      if (flow === undefined)
        throw new SluiceError(ErrorCode.INTERNAL, 'a chunk came before the flow was set up');
      const { done, transfer } = await flow.run(msg);
      port.postMessage(done satisfies FromWorker, transfer);
    } catch (err) {
      const reply: FromWorker = {
        type: 'failed',
        ...(msg.type === 'chunk' ? { seq: msg.seq } : {}),
        error: serializeError(err),
      };
      port.postMessage(reply);
    }
  };
  port.on('message', (msg: ToWorker) => {
    queue = queue.then(() => handle(msg));
  });
}
