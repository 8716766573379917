#!/usr/bin/env node
// The `jobvisor` command: runs the compiled CLI (dist/src/cli/main.js, built by `npm run build`).
// From a checkout without a build, use `npm run cli -- <command>` (tsx) instead.
try {
  await import('../dist/src/cli/main.js');
} catch (error) {
  if (
    error &&
    error.code === 'ERR_MODULE_NOT_FOUND' &&
    String(error.message).includes('dist/src/cli/main.js')
  ) {
    process.stderr.write(
      'jobvisor: the CLI is not built (run "npm run build"), or use "npm run cli -- <command>"\n',
    );
    process.exit(1);
  }
  throw error;
}
