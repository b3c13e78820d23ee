/**
 * runCommand loads the static configuration (file < environment < flags), starts Gantry and
 * handles signals: SIGTERM/SIGINT drain in-flight requests then exit 0.
 */
import { loadStaticConfig } from '../config/static/index.js';
import { ConfigError } from '../errors.js';
import { Gantry, stopAndExit } from '../gantry.js';
import { canBindPrivilegedPorts } from './privileged-ports.js';

export async function runCommand(argv: string[]): Promise<void> {
  let config;
  try {
    config = await loadStaticConfig({ argv, env: process.env, cwd: process.cwd(), isRoot: canBindPrivilegedPorts() });
  } catch (err) {
    if (err instanceof ConfigError) return await configErrorExit(err);
    throw err;
  }
  let gantry: Gantry;
  try {
    if (config.workers > 1) {
      // node:cluster and the primary are loaded only for --workers above 1; workers run
      // cluster/worker-main.js, never this command.
      await (await import('../cluster/primary.js')).runPrimary(config, process.cwd());
      return;
    }
    gantry = new Gantry({ config, cwd: process.cwd() });
  } catch (err) {
    // What only building Gantry finds (a certificate file that cannot be read) is a configuration error too.
    if (err instanceof ConfigError) return await configErrorExit(err);
    throw err;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    gantry.logger.info('signal received', { signal });
    stopAndExit(gantry);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await gantry.start();
  } catch (err) {
    gantry.logger.error('start failed', { error: err as Error });
    await gantry.stop().catch(() => {});
    process.exit(1);
  }
}

/** configErrorExit reports an invalid configuration and exits 1. */
async function configErrorExit(err: ConfigError): Promise<never> {
  process.stderr.write(`gantry: invalid configuration:\n${err.message}\n`);
  process.exit(1);
}
