/** Swarm provider: services announce themselves by (deploy) labels. */
export { SwarmProvider, type SwarmProviderOptions } from './provider.js';
export { buildSwarmConfig, type SwarmBuildOptions } from './build.js';
