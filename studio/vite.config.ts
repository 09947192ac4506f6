// Builds Studio into the server's static directory; `npm run dev` proxies the API
// to a running `coflux server` (COFLUX_HOST, default localhost:7777).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const target = `http://${process.env.COFLUX_HOST ?? "localhost:7777"}`;

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../src/coflux/server/static", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      "/api": { target, ws: true },
      "/blobs": { target },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
