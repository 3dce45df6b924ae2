// Builds the web UI (packages/ui → packages/ui/dist) when its sources are newer than the build,
// so `npm start` always serves what the sources say. `--force` builds regardless.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ui = fileURLToPath(new URL('../packages/ui/', import.meta.url));
const built = join(ui, 'dist/index.html');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((e) => newest(join(path, e))));
}

const stale =
  process.argv.includes('--force') ||
  !existsSync(built) ||
  Math.max(newest(join(ui, 'src')), newest(join(ui, 'index.html')), newest(join(ui, 'vite.config.ts'))) >
    statSync(built).mtimeMs;

// The budget of issue 5: what the first page loads (the entry chunk and the chunks it imports
// statically, all gzipped) stays within 350 KB; pages loaded on demand do not count.
const BUDGET_KB = 350;

function initialKb() {
  const html = readFileSync(built, 'utf8');
  const entry = /<script type="module"[^>]*src="\/([^"]+)"/.exec(html)?.[1];
  const preloads = [...html.matchAll(/<link rel="modulepreload"[^>]*href="\/([^"]+)"/g)].map((m) => m[1]);
  const files = [entry, ...preloads].filter(Boolean);
  return files.reduce((kb, f) => kb + gzipSync(readFileSync(join(ui, 'dist', f))).length / 1024, 0);
}

if (stale) {
  const { build } = await import('vite');
  await build({ root: ui, configFile: join(ui, 'vite.config.ts'), logLevel: 'warn' });
  const kb = initialKb();
  console.log(
    `built the web UI into packages/ui/dist: the first page loads ${kb.toFixed(0)} KB of JavaScript gzipped (budget ${BUDGET_KB} KB)`,
  );
  if (kb > BUDGET_KB) {
    console.error(
      `the UI's initial JavaScript is ${kb.toFixed(0)} KB gzipped, over its ${BUDGET_KB} KB budget: split more into lazy pages`,
    );
    process.exit(1);
  }
}
