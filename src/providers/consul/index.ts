/** The Consul catalog provider. */
export { ConsulCatalogProvider, buildConsulConfig, tagsToLabels, type ConsulCatalogOptions } from './provider.js';
export { ConsulClient, type CatalogServices, type HealthEntry } from './client.js';
