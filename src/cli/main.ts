/**
 * The `jobvisor` command line: dispatches to one function per command and exits with its code.
 * `bin/jobvisor.js` runs the compiled file; from the repository, `npm run cli -- …` runs it with tsx.
 * Commands are loaded on demand, so `ls` never loads the supervisor, SQLite or the server.
 */
import { UsageError } from './args.js';
import { EXIT, reportError } from './exit.js';

type Run = (argv: readonly string[]) => Promise<number>;

const CLIENT = '[--url URL] [--token T] [--json]';

interface Command {
  usage: string;
  load: () => Promise<Run>;
  /** The text of `--help`, when it says more than the usage line. */
  help?: () => Promise<string>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: {
    usage:
      'jobvisor serve [--config FILE] [--port 3000] [--db ./data/jobvisor.db] [--handlers ./my-handlers.js] [OPTIONS] (jobvisor serve --help lists them)',
    load: async () => (await import('./serve.js')).serveCommand,
    help: async () => (await import('./serve-options.js')).serveHelp(),
  },
  start: {
    usage: `jobvisor start TYPE [--input JSON] [--key K] [--on-conflict join|reject|replace] [--priority N] [--delay D | --at TIME] [--watch] ${CLIENT}`,
    load: async () => (await import('./start.js')).startCommand,
  },
  watch: {
    usage: `jobvisor watch ID ${CLIENT}`,
    load: async () => (await import('./watch.js')).watchCommand,
  },
  logs: {
    usage: `jobvisor logs ID [--follow] [--attempt N] ${CLIENT}`,
    load: async () => (await import('./logs.js')).logsCommand,
  },
  ls: {
    usage: `jobvisor ls [--status running,pending] [--type T] [--key K] [--limit N] [--after CURSOR] ${CLIENT}`,
    load: async () => (await import('./ls.js')).lsCommand,
  },
  retry: {
    usage: `jobvisor retry ID… | --status S --type T --older-than D (failed or cancelled jobs) ${CLIENT}`,
    load: async () => (await import('./retry.js')).retryCommand,
  },
  rm: {
    usage: `jobvisor rm ID… | --status S --type T --older-than D (finished jobs only) ${CLIENT}`,
    load: async () => (await import('./rm.js')).rmCommand,
  },
  pause: {
    usage: `jobvisor pause [TYPE] | --list (no TYPE: the whole supervisor) ${CLIENT}`,
    load: async () => (await import('./pause.js')).pauseCommand,
  },
  resume: {
    usage: `jobvisor resume [TYPE] (no TYPE: the whole supervisor) ${CLIENT}`,
    load: async () => (await import('./pause.js')).resumeCommand,
  },
  schedules: {
    usage: `jobvisor schedules ${CLIENT}`,
    load: async () => (await import('./schedule.js')).schedulesCommand,
  },
  schedule: {
    usage: `jobvisor schedule NAME --type T (--cron EXPR | --every DURATION) [--input JSON] [--tz ZONE] [--key K] [--priority N] [--missed latest|skip] ${CLIENT}`,
    load: async () => (await import('./schedule.js')).scheduleCommand,
  },
  unschedule: {
    usage: `jobvisor unschedule NAME (the jobs it started stay) ${CLIENT}`,
    load: async () => (await import('./schedule.js')).unscheduleCommand,
  },
  'start-many': {
    usage: `jobvisor start-many [FILE|-] (JSON Lines or a JSON array of POST /jobs bodies) ${CLIENT}`,
    load: async () => (await import('./start-many.js')).startManyCommand,
  },
  cancel: {
    usage: `jobvisor cancel ID… | --status S --type T --key K --older-than D [--reason R] ${CLIENT}`,
    load: async () => (await import('./cancel.js')).cancelCommand,
  },
};

const USAGE = `Usage:
${Object.values(COMMANDS)
  .map((command) => `  ${command.usage}`)
  .join('\n')}

Environment: JOBVISOR_URL (default http://127.0.0.1:3000), JOBVISOR_TOKEN; serve reads one variable
             per option (JOBVISOR_PORT, JOBVISOR_DB, JOBVISOR_CONCURRENCY, …: jobvisor serve --help).
Exit codes: 0 completed/ok, 1 failed (or serve could not start), 2 usage error, 3 cancelled,
            4 server unreachable, 5 any other error answered by the server.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (command === undefined) {
      throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(command.help === undefined ? `Usage: ${command.usage}\n` : await command.help());
      return EXIT.ok;
    }
    const run = await command.load();
    return await run(rest);
  } catch (error) {
    return reportError(error, rest.includes('--json'));
  }
}

process.exit(await main(process.argv.slice(2)));
