// Builds the web UI (packages/ui → packages/ui/dist) when its sources are newer than the build,
// so `npm start` always serves what the sources say. `--force` builds regardless.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

if (stale) {
  const { build } = await import('vite');
  await build({ root: ui, configFile: join(ui, 'vite.config.ts'), logLevel: 'warn' });
  console.log('built the web UI into packages/ui/dist');
}
