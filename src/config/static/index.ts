/** The static configuration: how Gantry itself starts (see load.ts and schema.ts). */
export { loadStaticConfig, checkStaticData, StaticConfigError, type LoadStaticOptions } from './load.js';
export { staticSchema, splitAddress, type StaticConfig, type StaticInput, type EntryPointConfig, type ProvidersConfig, type AcmeConfig } from './schema.js';
