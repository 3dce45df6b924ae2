import type { ConsumerConfig, ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { ErrorCode, FatalError, type Logger } from '@sluice/core';
import { durationMs } from '../shared/stream-options.ts';
import { type NatsTarget, natsError } from './conn.ts';

/** The source's options that shape a durable consumer it creates (its config's fields of the same names). */
export interface ConsumerOptions {
  stream: string;
  consumer: string;
  deliverPolicy: 'all' | 'new' | 'last' | 'by_start_time';
  startTime?: string | undefined;
  filterSubject?: string | undefined;
  /** A duration (`30s`). */
  ackWait: string;
  maxAckPending: number;
}

/**
 * The durable pull consumer the source reads through: found, or created with the config's deliver
 * policy, filter, ack wait and window when it does not exist yet. An existing one keeps its own
 * settings (the server holds its place in the stream; a deliver policy only matters at creation),
 * but one the source cannot use safely fails the step with CONFIG: a push consumer; one that needs
 * no acknowledgements (its messages would be gone before their rows are safe); one with no limit
 * on unacknowledged messages (the server's window is what bounds the memory a slow sink makes the
 * source use); one filtering other subjects than `filterSubject` asks for. Returns its window
 * (`max_ack_pending`) and how many messages wait for it (`num_pending`).
 */
export async function durableConsumer(
  jsm: JetStreamManager,
  o: ConsumerOptions,
  where: string,
  target: NatsTarget,
  log: Logger,
): Promise<{ window: number; pending: number }> {
  const name = `the durable consumer "${o.consumer}" of stream "${o.stream}"`;
  let info: ConsumerInfo | undefined;
  try {
    info = await jsm.consumers.info(o.stream, o.consumer);
  } catch (err) {
    const kind = (err as Error).name;
    if (kind === 'StreamNotFoundError')
      throw new FatalError(
        `${where}: stream "${o.stream}" does not exist on NATS at ${target.address} — check with.stream, or create the stream (nats stream add)`,
        { code: ErrorCode.NOT_FOUND, cause: err },
      );
    if (kind !== 'ConsumerNotFoundError') throw natsError(err, where, target, `find ${name}`);
  }
  if (info === undefined) {
    const config: Partial<ConsumerConfig> = {
      durable_name: o.consumer,
      ack_policy: 'explicit',
      deliver_policy: o.deliverPolicy,
      ack_wait: durationMs(o.ackWait) * 1_000_000,
      max_ack_pending: o.maxAckPending,
      ...(o.startTime === undefined ? {} : { opt_start_time: new Date(o.startTime).toISOString() }),
      ...(o.filterSubject === undefined ? {} : { filter_subject: o.filterSubject }),
    };
    const made = await jsm.consumers.add(o.stream, config).catch((err: unknown) => {
      throw natsError(err, where, target, `create ${name}`);
    });
    log.info(
      `created ${name} (deliver ${o.deliverPolicy}${o.filterSubject ? `, subjects ${o.filterSubject}` : ''})`,
    );
    return { window: made.config.max_ack_pending ?? o.maxAckPending, pending: made.num_pending };
  }
  const c = info.config;
  const refuse = (why: string): never => {
    throw new FatalError(
      `${where}: ${name} ${why} — change it (nats consumer edit) or name another consumer in with.consumer`,
      { code: ErrorCode.CONFIG },
    );
  };
  if (c.deliver_subject) refuse('is a push consumer; the source reads through a pull consumer');
  if (c.ack_policy === 'none')
    refuse(
      'acknowledges nothing (ack policy none): its messages would be gone before their rows are written',
    );
  const window = c.max_ack_pending ?? 0;
  if (!(window > 0)) refuse('has no limit on unacknowledged messages (max_ack_pending); set one, e.g. 1000');
  const filters = c.filter_subjects ?? (c.filter_subject ? [c.filter_subject] : []);
  if (o.filterSubject !== undefined && (filters.length !== 1 || filters[0] !== o.filterSubject))
    refuse(`filters ${filters.length === 0 ? 'no subject' : filters.join(', ')}, not ${o.filterSubject}`);
  log.info(
    `reading through ${name} (${info.num_ack_pending} unacknowledged, ${info.num_pending} waiting; ` +
      `max_ack_pending ${window})`,
  );
  return { window, pending: info.num_pending };
}
