import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// Node's process, declared here so that the app's tsconfig needs no Node typings.
declare const process: { env: Record<string, string | undefined> };

// FSML_WEB_OUT: where the build goes (CMake points it into its build tree).
// Relative paths are relative to this folder.
export default defineConfig({
  base: '/',
  plugins: [preact()],
  build: {
    outDir: process.env.FSML_WEB_OUT || 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: { '/api': process.env.FSML_API_ORIGIN || 'http://127.0.0.1:8080' },
  },
});
