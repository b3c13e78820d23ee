/** The file provider: dynamic configuration from a watched YAML/TOML file or directory. */
export { FileProvider, type FileProviderOptions } from './provider.js';
export { mergeFiles, readConfigFile, listConfigFiles } from './read.js';
