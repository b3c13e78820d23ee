/**
 * Flat-key configuration (Docker labels, Swarm service labels, etcd keys) → dynamic model.
 * See decode.ts for the native/Traefik v2 keys and dialects.ts for the migration dialects.
 */
export { decodeFlat, splitKey, type DecodeResult } from './decode.js';
export { buildContainerConfig, labelValue, type ContainerConfig, type LabelOptions, type LabelSource } from './container.js';
export { dockerFlowProxy, envMap, hasTraefikV1, nginxProxy, traefikV1 } from './dialects.js';
export { resolveServers, type Target } from './servers.js';
export { DEFAULT_RULE, normalize, renderTemplate, TemplateError, type TemplateData } from './template.js';
