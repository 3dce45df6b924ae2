// Bundles the CLI (our TypeScript only; npm packages stay external) into packages/cli/dist, so
// `sluice` starts in ~0.2 s instead of compiling every module through tsx on each start.
// Runs on `npm install` (prepare). The bin falls back to the sources when this bundle is stale.
import { build } from 'esbuild';

await build({
  // The step child is its own entry: the worker forks it next to the bundle (see childEntry).
  entryPoints: {
    sluice: new URL('../packages/cli/src/main.ts', import.meta.url).pathname,
    'step-child': new URL('../packages/server/src/worker/step-child.ts', import.meta.url).pathname,
    // The worker threads of parallel flows load this, beside the bundle (see worker-module.ts).
    'flow-worker': new URL('../packages/connectors/src/worker.ts', import.meta.url).pathname,
  },
  outdir: new URL('../packages/cli/dist', import.meta.url).pathname,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // Code only the platform's commands need (with its npm imports) goes into chunks loaded by
  // their dynamic import: `sluice run` does not load the server, OpenTelemetry or metrics.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [
    {
      name: 'external-packages',
      setup(b) {
        // Workspace packages are bundled from source; everything from the registry stays external.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@sluice/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
