import { defineConfig } from 'vite';

// The console is built into web/dist and served by the API process (api/routes/console.ts): one origin,
// so the API needs no CORS and the CSP can stay 'self'. `npm run dev:web` proxies /api to a running
// `npm start` for work on the console itself.
// Run with web/ as the root (`vite build web`): paths here are relative to it.
export default defineConfig({
  base: '/',
  // JSX with React's automatic runtime, compiled by Vite's own transformer (no Babel plugin needed for a build).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Chrome/Edge/Firefox/Safari of the last few years, and the Chromium-based Chinese browsers (360, QQ, Sogou).
    target: ['chrome100', 'edge100', 'firefox100', 'safari15'],
    // No inline <script> in index.html, no data: URLs for scripts: the CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rolldownOptions: {
      // React Server Components' "use client" markers in libraries mean nothing in a browser bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://localhost:3000', '/healthz': 'http://localhost:3000' } },
});
