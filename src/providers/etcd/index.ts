/** The etcd provider (keys under rootKey, Registrator layout) and its v3 JSON-gateway client. */
export { EtcdProvider, REST_STATE_SUFFIX, type EtcdProviderOptions } from './provider.js';
export { EtcdClient, type EtcdClientOptions } from './client.js';
