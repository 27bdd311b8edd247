/**
 * The playground's Vite config: the page imports nabla from ../src (the same
 * package Node users get). COOP/COEP make the page cross-origin isolated, so
 * SharedArrayBuffer, and with it nabla's WASM threads, are available.
 */
import { defineConfig } from 'vite';

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: __dirname,
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  build: { outDir: 'dist', target: 'es2022' },
});
