// Builds the worker app (the default) and the owner console (`--mode console`)
// into the Python package, so `labelwire serve` serves both with no Node.js.
// Two builds rather than one multi-page build, because each page has its own
// base path (/work/, /console/). Output names carry content hashes
// (long-cached by the server) and the build is reproducible: the same sources
// give the same files.
import { defineConfig } from "vite";

export default defineConfig(({ mode }) => {
  const console = mode === "console";
  return {
    base: console ? "/console/" : "/work/",
    root: console ? "console" : ".",
    build: {
      outDir: console ? "../../server/transport/web/console" : "../server/transport/web/worker",
      emptyOutDir: true,
      assetsDir: "assets",
      modulePreload: { polyfill: false },
      sourcemap: false,
      reportCompressedSize: true,
    },
  };
});
