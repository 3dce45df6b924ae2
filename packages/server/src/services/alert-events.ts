import { and, count, desc, eq, type SQL } from 'drizzle-orm';
import { alertEvents, alertRules, pipelines } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { type AlertNotice, type Delivery, deliverTo } from './alert-channels.ts';
import { type Channel, channelIssues, getRule, unmask } from './alert-rules.ts';
import { invalid } from './schema-issues.ts';

export interface AlertEventFilter {
  limit: number;
  offset: number;
  status?: 'firing' | 'resolved';
  ruleId?: string;
  pipelineId?: string;
}

/** The alert history, newest first, with each event's rule and pipeline names. */
export async function listAlertEvents(p: Platform, f: AlertEventFilter) {
  const where: SQL[] = [];
  if (f.status) where.push(eq(alertEvents.status, f.status));
  if (f.ruleId) where.push(eq(alertEvents.ruleId, f.ruleId));
  if (f.pipelineId) where.push(eq(alertEvents.pipelineId, f.pipelineId));
  const rows = await p.database.db
    .select({ e: alertEvents, ruleName: alertRules.name, pipelineName: pipelines.name })
    .from(alertEvents)
    .innerJoin(alertRules, eq(alertRules.id, alertEvents.ruleId))
    .leftJoin(pipelines, eq(pipelines.id, alertEvents.pipelineId))
    .where(and(...where))
    .orderBy(desc(alertEvents.firedAt))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await p.database.db
    .select({ n: count() })
    .from(alertEvents)
    .where(and(...where));
  return {
    items: rows.map(({ e, ruleName, pipelineName }) => ({
      id: e.id,
      ruleId: e.ruleId,
      ruleName,
      status: e.status,
      severity: e.severity,
      message: e.message,
      pipelineId: e.pipelineId,
      pipelineName,
      jobId: e.jobId,
      firedAt: e.firedAt.toISOString(),
      resolvedAt: e.resolvedAt?.toISOString() ?? null,
      deliveries: e.deliveries as Delivery[],
    })),
    total: total!.n,
  };
}

/** Sends a test notice to each of the rule's channels now and answers how each went (nothing is stored). */
export async function testRule(p: Platform, id: string): Promise<{ deliveries: Delivery[] }> {
  const rule = await getRule(p, id);
  const notice: AlertNotice = {
    status: 'test',
    eventId: null,
    rule: { id: rule.id, name: rule.name },
    severity: rule.severity,
    message: `a test of alert rule "${rule.name}" (${rule.condition.type})`,
    pipeline: null,
    jobId: null,
    firedAt: new Date().toISOString(),
    resolvedAt: null,
  };
  return { deliveries: await Promise.all(rule.channels.map((c, i) => deliverTo(p, c, i, notice))) };
}

export interface ChannelTest {
  channel: Channel;
  /**
   * The saved rule the channel is edited in, and its place there: a masked secret in `channel`
   * (as the rule's answer showed it) is then the stored one, so an edited channel can be tested
   * without typing its secrets again.
   */
  ruleId?: string;
  index?: number;
}

/**
 * Sends one test notice to a channel as configured in a form, before it is saved, and answers
 * how it went; nothing is stored. One try, no retries: a person is waiting.
 */
export async function testChannel(p: Platform, t: ChannelTest): Promise<Delivery> {
  const issues = channelIssues(t.channel, 'body.channel');
  if (issues.length) throw invalid('alert channel', issues);
  const rule = t.ruleId ? await getRule(p, t.ruleId) : null;
  const index = t.index ?? 0;
  const stored = rule?.channels[index];
  const channel = stored ? unmask([t.channel], [stored])[0]! : t.channel;
  const notice: AlertNotice = {
    status: 'test',
    eventId: null,
    rule: { id: rule?.id ?? '', name: rule?.name ?? '(unsaved rule)' },
    severity: rule?.severity ?? 'info',
    message: `a test of a ${channel.type} channel${rule ? ` of alert rule "${rule.name}"` : ''}`,
    pipeline: null,
    jobId: null,
    firedAt: new Date().toISOString(),
    resolvedAt: null,
  };
  return deliverTo(p, channel, index, notice, { attempts: 1 });
}
