/**
 * The gantry command line: `gantry run` (the default), `check`, `version`, `healthcheck`, and the
 * client commands that talk to a running Gantry's API.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { defaultApiUrl } from './api-url.js';

// Each command's module is imported when it runs: `gantry healthcheck` runs every few seconds in
// every container and should not load the whole proxy (about 1 s of CPU) to ask /ping.
const DEFAULT_API = defaultApiUrl();
const runCommand = async (argv: string[]) => (await import('./run.js')).runCommand(argv);

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
    .command('check <file...>')
    .description('validate static or dynamic configuration files, each on its own; exit 1 with every error listed')
    .action(async (files: string[]) => {
      const { runCheck } = await import('./check.js');
      let code = 0;
      for (const file of files) code = Math.max(code, await runCheck(file, process.stdout));
      process.exitCode = code;
    });
  program
    .command('healthcheck')
    .description('exit 0 when the running proxy is healthy (for container HEALTHCHECK)')
    .option('--api <url>', 'API address of the running Gantry (the default follows GANTRY_API_ADDRESS)', DEFAULT_API)
    .action(async (opts: { api: string }) => {
      process.exitCode = await (await import('./healthcheck.js')).healthcheckCommand(opts.api);
    });
  program
    .command('explain <url>')
    .description('which router would take this request, which did not and why, which server would answer')
    .option('--method <method>', 'request method', 'GET')
    .option('--header <header>', "request header 'Name: value' (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--entrypoint <name>', 'only this entrypoint')
    .option('--json', 'print the API answer as JSON')
    .option('--api <url>', 'API address of the running Gantry (http://user:pass@host:port when it needs credentials)', DEFAULT_API)
    .action(async (url: string, opts: { method: string; header: string[]; api: string; entrypoint?: string; json?: boolean }) => {
      process.exitCode = await (await import('./explain.js')).explainCommand(url, opts);
    });
  program
    .command('config')
    .description('print the effective dynamic configuration of a running Gantry as YAML')
    .option('--api <url>', 'API address of the running Gantry', DEFAULT_API)
    .action(async (opts: { api: string }) => {
      process.exitCode = await (await import('./config.js')).configCommand(opts);
    });
  program
    .command('reconfigure')
    .description("register a service route (Docker Flow Proxy's reconfigure)")
    .requiredOption('--service-name <name>', 'service name (the registration key and, without a registry, the backend host name)')
    .option('--service-path <paths>', 'path prefixes, comma separated')
    .option('--port <port>', 'backend port (without it, the instances come from a registry: etcd, Consul)')
    .option('--service-domain <domains>', 'host names, comma separated')
    .option('--api <url>', 'API address of the running Gantry', DEFAULT_API)
    .action(async (opts: { serviceName: string; servicePath?: string; port?: string; serviceDomain?: string; api: string }) => {
      process.exitCode = await (await import('./reconfigure.js')).reconfigureCommand(opts);
    });
  program
    .command('remove')
    .description('remove a service registered by reconfigure')
    .requiredOption('--service-name <name>', 'service name')
    .option('--api <url>', 'API address of the running Gantry', DEFAULT_API)
    .action(async (opts: { serviceName: string; api: string }) => {
      process.exitCode = await (await import('./remove.js')).removeCommand(opts);
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
