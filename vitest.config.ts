import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real inference on WASM takes seconds per file on a 2-core till PC.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One engine per test file is enough; two files at once would fight over 2 cores.
    fileParallelism: false,
  },
});
