import { type ComponentStats, type RunReport, type SchemaChange, verifiedLevel } from '@sluice/core';
import pc from 'picocolors';
import { duration, int, rate, table } from './format.ts';

const STATUS: Record<string, (s: string) => string> = {
  success: pc.green,
  failed: pc.red,
  cancelled: pc.yellow,
  skipped: pc.dim,
};

/** The human summary: a row per step, then each flow's components with their share of the time. */
export function renderSummary(report: RunReport): string {
  const out: string[] = [];
  const rows = report.steps.map((s) => [
    s.id,
    (STATUS[s.status] ?? String)(s.status),
    int(s.rowsRead),
    int(s.rowsWritten),
    int(s.rowsFiltered),
    int(s.rowsQuarantined),
    s.kind === 'flow' && s.integrity ? (verifiedLevel([s]) ?? '') : '',
    duration(s.durationMs),
    s.kind === 'flow' ? rate(s.rowsRead, s.durationMs) : '',
  ]);
  out.push(
    table(
      ['step', 'status', 'read', 'written', 'filtered', 'quarantined', 'verified', 'time', 'rows/s'],
      rows,
    ),
  );
  for (const s of report.steps) {
    if (s.components.length === 0) continue;
    const busy = s.components.reduce((a, c) => a + c.durationMs, 0) || 1;
    out.push(
      `\n${pc.bold(s.id)}${s.resumedFromRow ? pc.dim(` (resumed after row ${int(s.resumedFromRow)})`) : ''}`,
    );
    out.push(
      table(
        ['component', 'in', 'out', 'filtered', 'quarantined', 'checksum', 'time', 'share'],
        s.components.map((c) => [
          c.id + (c.location ? ` → ${c.location}` : ''),
          int(c.rowsIn),
          int(c.rowsOut),
          // Its rows out are not its rows in less a filter's: the change of count is what it does.
          c.reshaped ? pc.dim('reshapes') : int(c.rowsFiltered),
          int(c.rowsQuarantined),
          proof(c),
          duration(c.durationMs),
          `${Math.round((100 * c.durationMs) / busy)}%`,
        ]),
      ),
    );
    for (const c of s.components)
      for (const change of c.schemaChanges ?? []) out.push(pc.yellow(`  ${c.id}: ${schemaChange(change)}`));
    for (const c of s.components) {
      if (!c.counters) continue;
      const figures = Object.entries(c.counters).map(([name, n]) => `${name} ${int(n)}`);
      out.push(pc.dim(`${c.id}: ${figures.join(' · ')}`));
    }
    if (s.output) out.push(pc.dim(s.output.trimEnd()));
  }
  const { ok, problems, unchecked = [] } = report.integrity;
  const level = report.integrity.verified;
  const verdict = ok
    ? pc.green(`integrity ok${level ? ` (${level === 'content' ? 'content read back' : 'counts'})` : ''}`)
    : problems.length > 0
      ? pc.red(`integrity FAILED: ${problems.join('; ')}`)
      : pc.yellow(`integrity not proven: ${unchecked.join(', ')} did not finish`);
  out.push(
    `\n${verdict} · ${(STATUS[report.status] ?? String)(report.status)} in ${duration(report.durationMs)}`,
  );
  for (const d of report.integrity.datasets ?? [])
    out.push(
      pc.dim(
        `dataset ${d.name}: ${int(d.rowsWritten)} written by ${d.writer}` +
          d.readers.map((r) => `, ${int(r.rowsRead)} read by ${r.step}`).join(''),
      ),
    );
  for (const s of report.steps) {
    const r = s.replay;
    if (!r) continue;
    const skipped =
      r.notReplayable > 0 ? ` (${int(r.notReplayable)} could not be tried: see their reason)` : '';
    out.push(
      `${pc.bold(s.id)}: replayed ${int(r.taken)} quarantined rows: ${pc.green(`${int(r.written)} written`)}, ` +
        `${int(r.filtered)} filtered, ${r.quarantined > 0 ? pc.yellow(`${int(r.quarantined)} quarantined again`) : '0 quarantined again'}${skipped}`,
    );
    out.push(pc.dim(`  the entries replayed are kept in ${r.replayedFile}`));
  }
  if (report.quarantine.rows > 0)
    out.push(pc.yellow(`${int(report.quarantine.rows)} rows quarantined → ${report.quarantine.path}`));
  for (const s of report.steps) {
    if (s.error && s.status !== 'skipped') {
      const tries = s.attempts > 1 ? ` (after ${s.attempts} attempts)` : '';
      out.push(pc.red(`✗ ${s.id}${tries}: ${s.error.message}`));
    }
  }
  return out.join('\n');
}

/** A source's checksum; a sink's verification: its level and, for content, the checksum it found. */
function proof(c: ComponentStats): string {
  if (c.verified) return c.verified.found === undefined ? c.verified.level : `content ${c.verified.found}`;
  return c.checksum ?? '';
}

/** One line of a sink's schema changes (see SinkResult.schemaChanges). */
function schemaChange(c: SchemaChange): string {
  switch (c.change) {
    case 'column_added':
      return `added column "${c.column}" (${c.type})`;
    case 'type_widened':
      return `widened column "${c.column}" from ${c.from} to ${c.type}`;
    case 'rows_discarded':
      return `discarded ${int(c.count ?? 0)} rows for field "${c.column}" (schema contract)`;
    case 'values_dropped':
      return `dropped ${int(c.count ?? 0)} values of field "${c.column}" (schema contract)`;
  }
}
