// Vitest's global setup: builds the CLI bundle once per test run, so the tests that start `sluice`
// and the platform's step processes and flow threads run the code under test, built as users run it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup() {
  execFileSync(process.execPath, [fileURLToPath(new URL('./build-cli.mjs', import.meta.url))], {
    stdio: 'inherit',
  });
  // Forked from the sources, every step process compiled its modules through tsx: 2–3 s per start
  // instead of ~1 s, most of a platform test's time. The test workers inherit this.
  process.env.SLUICE_DIST = fileURLToPath(new URL('../packages/cli/dist', import.meta.url));
}
