import { defineConfig } from 'vite';

// No Babel: esbuild compiles the TSX with Preact's automatic JSX runtime
// (tsconfig.json: jsx react-jsx, jsxImportSource preact).
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // the CSP has no 'unsafe-inline': no inline scripts or styles in index.html
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/healthz': 'http://127.0.0.1:8080' },
  },
});
