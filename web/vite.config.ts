// Builds the worker app into the Python package, so `labelwire serve` serves
// it with no Node.js. Output names carry content hashes (long-cached by the
// server) and the build is reproducible: the same sources give the same files.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/work/",
  build: {
    outDir: "../server/transport/web/worker",
    emptyOutDir: true,
    assetsDir: "assets",
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
  },
});
