import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Vitest's default on a 2-core machine is one worker (cores - 1), which ran every file one after
    // another: most test time is spent waiting on processes, databases and sockets, not on the CPU.
    maxWorkers: 2,
    globalSetup: ['scripts/test-setup.mjs'],
    projects: [
      {
        test: {
          name: 'unit',
          // Two files at once share two cores: a CPU-bound case can take longer than the default 5 s.
          testTimeout: 20_000,
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/*.e2e.test.ts', '**/node_modules/**', 'packages/ui/**'],
        },
      },
      {
        // The UI's components, rendered in happy-dom.
        test: {
          name: 'ui',
          include: ['packages/ui/test/**/*.test.tsx', 'packages/ui/src/**/*.test.ts'],
          environment: 'happy-dom',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.integration.test.ts', 'packages/*/src/**/*.integration.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Integration tests share local services and spawn processes; they run after the unit tests.
          sequence: { groupOrder: 1 },
          // One module graph per worker, not one per file: importing the server and every connector
          // (PGlite's WebAssembly, the AWS SDK, DuckDB) took seconds before each file's first test.
          // Files keep their own state: each test makes its platform, database schema and queues.
          isolate: false,
          // Runs before every file: the cleanup shared helpers ask for (test/file-end.ts) at its end.
          setupFiles: ['scripts/test-file-setup.ts'],
        },
      },
      {
        test: {
          // The UI in Debian's Chromium (playwright-core) against a real `sluice serve`.
          name: 'browser',
          include: ['packages/ui/e2e/**/*.e2e.test.ts'],
          // Each file drives Chromium against its own server: one at a time on 2 cores. Two at a time
          // took the project from ~400 s to ~200 s and passed twice, then failed ui.e2e's live-run
          // and narrow-screen cases once: not until those wait without a clock.
          maxWorkers: 1,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
