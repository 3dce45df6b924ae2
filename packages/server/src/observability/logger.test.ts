import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));

// pino-pretty writes to the process's stdout (fd 1), so the lines are read from a child.
function linesOf(pretty: boolean): string[] {
  const code = `
    import { createLogger } from ${JSON.stringify(logger)};
    const log = createLogger({ pretty: ${pretty} });
    log.info({ jobId: 'job-1', stepId: 'load', traceId: 't1', componentId: 'load.0:csv' }, 'reading data/orders.csv');
    log.flush?.();
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return out.split('\n').filter((l) => l.trim());
}

describe('the console log', () => {
  it('prints one readable line per event on a terminal, the step first and the job last', () => {
    const lines = linesOf(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/INFO.*load: reading data\/orders\.csv \(job job-1\)$/);
    expect(lines[0]).not.toContain('traceId');
  });

  it('prints JSON lines with every id when it is not a terminal', () => {
    const [line] = linesOf(false);
    expect(JSON.parse(line!)).toMatchObject({
      jobId: 'job-1',
      stepId: 'load',
      traceId: 't1',
      msg: 'reading data/orders.csv',
    });
  });
});
