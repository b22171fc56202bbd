#!/usr/bin/env node
// The installed command runs the compiled CLI; `npm run cli` runs the TypeScript source.
await import('../dist/cli/main.js');
