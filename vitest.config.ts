import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
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
        },
      },
      {
        test: {
          // The UI in Debian's Chromium (playwright-core) against a real `sluice serve`.
          name: 'browser',
          include: ['packages/ui/e2e/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
