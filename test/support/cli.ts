import path from 'node:path';

/**
 * The installed command, running the compiled CLI that `npm test` builds first: what an operator
 * runs, and without compiling the TypeScript again for every child process.
 */
export const MEMBERLENS_CLI = path.resolve('bin/memberlens.js');
