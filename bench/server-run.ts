/** `tsx bench/server-run.ts`: only the server section of `npm run bench` (BENCH_QUICK=1 for a smoke run). */
import { measureServer, serverSection, serverSpec } from './server.js';

const spec = serverSpec(process.env.BENCH_QUICK === '1');
measureServer(spec)
  .then((figures) => console.log(serverSection(spec, figures)))
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
