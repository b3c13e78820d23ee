/** Docker provider: containers announce themselves by labels. */
export { DockerProvider, type DockerProviderOptions } from './provider.js';
export { DockerClient, DockerApiError, type DockerClientOptions, type DockerTlsOptions } from './client.js';
export { buildDockerConfig, type BuildOptions, type BuildResult } from './build.js';
export { containerAddress, containerPort } from './address.js';
export { compileConstraints, ConstraintError } from './constraints.js';
export { mergeConfigs } from './merge.js';
