import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `vite dev` proxies the API to a `sluice serve` on :8080; the build is served by the server itself.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
