// Bundles the CLI (our TypeScript, and the pure-JS packages in INLINE; other npm packages stay
// external) into packages/cli/dist, so `sluice` starts in ~0.2 s instead of compiling every module
// through tsx on each start.
// Runs on `npm install` (prepare). The bin falls back to the sources when this bundle is stale.
import { build } from 'esbuild';

const outdir = new URL('../packages/cli/dist', import.meta.url).pathname;

// Pure-JS packages that `sluice run` and every flow worker thread load at start are bundled in:
// resolving and compiling their hundreds of small modules one by one was most of the start-up.
// Measured (Node 20, 2 cores): a flow worker ready in 105 ms instead of 230, `sluice run` of a
// small flow in 0.23 s instead of 0.35. Packages the server shares with other npm packages (pg,
// which pg-boss and drizzle load too) or with native parts stay external.
const INLINE = [
  '@sinclair/typebox',
  'ajv',
  'ajv-formats',
  'fast-deep-equal',
  'fast-uri',
  'json-schema-traverse',
  'yaml',
  '@marcbachmann/cel-js',
  'cockatiel',
  'fastest-levenshtein',
];
const inline = (path) =>
  path.startsWith('@sluice/') || INLINE.some((p) => path === p || path.startsWith(`${p}/`));

// Chunks of earlier builds are left in place (their names carry a content hash): a running
// `sluice serve` or `sluice run` still imports its own lazily, and forks step-child.mjs and
// flow-worker.mjs from here.

await build({
  // The step child is its own entry: the worker forks it next to the bundle (see childEntry).
  entryPoints: {
    sluice: new URL('../packages/cli/src/main.ts', import.meta.url).pathname,
    'step-child': new URL('../packages/server/src/worker/step-child.ts', import.meta.url).pathname,
    // The worker threads of parallel flows load this, beside the bundle (see worker-module.ts).
    'flow-worker': new URL('../packages/connectors/src/worker.ts', import.meta.url).pathname,
  },
  outdir,
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
        // Workspace packages are bundled from this checkout's sources, not through node_modules:
        // a git worktree whose node_modules links to another checkout's would otherwise bundle
        // that checkout's code.
        b.onResolve({ filter: /^@sluice\/(core|connectors|server|cli)$/ }, (args) => ({
          path: new URL(`../packages/${args.path.slice('@sluice/'.length)}/src/index.ts`, import.meta.url)
            .pathname,
        }));
        // Workspace packages are bundled from source, and the INLINE packages; the rest stays external.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          inline(args.path) ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
