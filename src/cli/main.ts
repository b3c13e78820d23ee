/**
 * The gantry command line: `gantry run` (the default), `check`, `version`, `healthcheck`, and the
 * client commands that talk to a running Gantry's API.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { runCommand } from './run.js';
import { runCheck } from './check.js';
import { healthcheckCommand } from './healthcheck.js';

const KNOWN = new Set(['run', 'check', 'version', 'healthcheck', 'help', '-h', '--help', '-v', '--version', 'config', 'reconfigure', 'remove', 'explain']);

export async function main(argv: string[]): Promise<void> {
  // `gantry --entrypoints.web.address=:80` is `gantry run …`: flags name static options freely,
  // so `run` takes its arguments raw instead of through commander.
  if (argv.length === 0 || !KNOWN.has(argv[0]!)) return runCommand(argv);
  if (argv[0] === 'run') return runCommand(argv.slice(1));

  const program = new Command('gantry').description('dynamic reverse proxy and load balancer for containers').version(VERSION, '-v, --version');
  program.exitOverride();
  program.command('version').description('print the version').action(() => {
    process.stdout.write(`Version: ${VERSION}\nNode.js: ${process.version}\nOS/Arch: ${process.platform}/${process.arch}\n`);
  });
  program
    .command('check <file>')
    .description('validate a static or dynamic configuration file; exit 1 with every error listed')
    .action(async (file: string) => {
      process.exitCode = await runCheck(file, process.stdout);
    });
  program
    .command('healthcheck')
    .description('exit 0 when the running proxy is healthy (for container HEALTHCHECK)')
    .option('--api <url>', 'API address of the running Gantry', 'http://127.0.0.1:8080')
    .action(async (opts: { api: string }) => {
      process.exitCode = await healthcheckCommand(opts.api);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
