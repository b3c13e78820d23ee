/**
 * createProviders builds the providers the static configuration enables, in a fixed order.
 * (Providers are a registry in spirit: each one is a class implementing Provider.)
 */
import path from 'node:path';
import type { StaticConfig } from '../config/static/index.js';
import type { Logger } from '../observability/logger.js';
import type { Provider } from './provider.js';
import { FileProvider } from './file/index.js';

export function createProviders(c: StaticConfig, cwd: string, _logger: Logger): Provider[] {
  const out: Provider[] = [];
  const file = c.providers.file;
  if (file !== null) {
    out.push(
      new FileProvider({
        filename: file.filename === undefined ? undefined : path.resolve(cwd, file.filename),
        directory: file.directory === undefined ? undefined : path.resolve(cwd, file.directory),
        watch: file.watch,
      }),
    );
  }
  return out;
}
