/**
 * The Docker Flow Proxy compatible API on the API address: `/v1/docker-flow-proxy/reconfigure`,
 * `/remove`, `/config` and `/ping`, answering in Docker Flow Proxy's JSON shape
 * (`{"Status":"OK"|"NOK","Message":…,"ServiceName":…, …service}`, server/server.go): 200 on success,
 * 400 for a missing or invalid parameter (naming it), 409 when neither servicePath nor serviceDomain
 * is given (as `proxy.IsValidReconf` does), 500 when the registration could not be stored. A bad
 * call changes nothing: parameters are checked before the storage is touched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DfpParamError, dfpView, parseDfpParams, type DfpRegistration } from './dfp.js';
import { Audit, send } from './http.js';
import type { RestProvider } from './provider.js';
import { lookupInstances } from './registry.js';
import { yamlLib } from '../../config/parse.js';

const PREFIX = '/v1/docker-flow-proxy';

export class DfpApi {
  #provider: RestProvider;
  #audit: Audit;
  #effective: () => unknown;

  /** effective returns the effective dynamic configuration (every provider), for `/config`. */
  constructor(provider: RestProvider, audit: Audit, effective: () => unknown) {
    this.#provider = provider;
    this.#audit = audit;
    this.#effective = effective;
  }

  readonly route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const p = url.pathname.replace(/\/+$/, '');
    if (p !== PREFIX && !p.startsWith(PREFIX + '/')) return false;
    const method = req.method ?? 'GET';
    const action = p.slice(PREFIX.length + 1);
    const allowed = action === 'reconfigure' || action === 'remove' ? ['GET', 'PUT', 'POST'] : ['GET', 'HEAD'];
    if (['reconfigure', 'remove', 'config', 'ping'].includes(action) && !allowed.includes(method)) {
      send(res, 405, { Status: 'NOK', Message: `method ${method} not allowed on ${p}` }, { allow: allowed.join(', ') });
      return true;
    }
    switch (action) {
      case 'ping':
        send(res, 200, { Status: 'OK' });
        return true;
      case 'config':
        this.#config(res, url);
        return true;
      case 'reconfigure':
        await this.#reconfigure(req, res, url);
        return true;
      case 'remove':
        await this.#remove(req, res, url);
        return true;
      default:
        send(res, 404, { Status: 'NOK', Message: `no Docker Flow Proxy endpoint at ${p} (reconfigure, remove, config, ping)` });
        return true;
    }
  };

  #config(res: ServerResponse, url: URL): void {
    const effective = this.#effective();
    if (url.searchParams.get('type') === 'json') {
      send(res, 200, effective);
      return;
    }
    // Docker Flow Proxy answers haproxy.cfg as text; the analogue here is the effective configuration as YAML.
    const text = yamlLib().stringify(effective, { lineWidth: 0 });
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async #reconfigure(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const what = `reconfigure ${url.searchParams.get('serviceName') ?? '(no serviceName)'}`;
    let params;
    try {
      params = parseDfpParams(url.searchParams);
    } catch (err) {
      if (!(err instanceof DfpParamError)) throw err;
      this.#audit.write(req, what, err.status, err.message);
      send(res, err.status, { Status: 'NOK', Message: err.message, Parameter: err.param, ServiceName: url.searchParams.get('serviceName') ?? '' });
      return;
    }
    if (params.port === undefined && lookupInstances(this.#provider.registries, params.serviceName) === null) {
      const names = this.#provider.registries.map((r) => r.registryName);
      const message = names.length === 0
        ? `port parameter is mandatory: no registry is configured (enable --providers.etcd or --providers.consulCatalog) to find the instances of "${params.serviceName}"`
        : `port parameter is mandatory: no registry (${names.join(', ')}) knows service "${params.serviceName}"`;
      this.#audit.write(req, what, 400, message);
      send(res, 400, { Status: 'NOK', Message: message, Parameter: 'port', ServiceName: params.serviceName });
      return;
    }
    // bcryptjs is loaded when a reconfigure call first brings users, not in every process.
    const bcrypt = params.users.length > 0 ? (await import('bcryptjs')).default : null;
    const users = await Promise.all(params.users.map(async (u) => `${u.user}:${await bcrypt!.hash(u.password, 10)}`));
    const reg: DfpRegistration = { ...params, users };
    try {
      await this.#provider.update((s) => ({ ...s, dfp: { ...s.dfp, [reg.serviceName]: reg } }));
    } catch (err) {
      const message = `registration not stored: ${(err as Error).message}`;
      this.#audit.write(req, what, 500, message);
      send(res, 500, { Status: 'NOK', Message: message, ServiceName: reg.serviceName });
      return;
    }
    this.#audit.write(req, what, 200, `rule ${JSON.stringify(dfpView(reg).ServiceDest)}`);
    send(res, 200, { Status: 'OK', Message: '', ServiceName: reg.serviceName, ...dfpView(reg) });
  }

  async #remove(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const q = url.searchParams;
    const name = (q.get('serviceName') ?? '').trim();
    const what = `remove ${name || '(no serviceName)'}`;
    const unknown = [...q.keys()].find((k) => !['serviceName', 'distribute', 'aclName'].includes(k));
    if (unknown !== undefined || name === '') {
      const message = unknown !== undefined ? `unknown parameter "${unknown}"` : 'The serviceName query is mandatory';
      this.#audit.write(req, what, 400, message);
      send(res, 400, { Status: 'NOK', Message: message, Parameter: unknown ?? 'serviceName', ServiceName: name });
      return;
    }
    let existed = false;
    try {
      await this.#provider.update((s) => {
        existed = name in s.dfp;
        if (!existed) return null;
        const dfp = { ...s.dfp };
        delete dfp[name];
        return { ...s, dfp };
      });
    } catch (err) {
      const message = `removal not stored: ${(err as Error).message}`;
      this.#audit.write(req, what, 500, message);
      send(res, 500, { Status: 'NOK', Message: message, ServiceName: name });
      return;
    }
    // Docker Flow Proxy answers 200 for a service it does not know; the message says so.
    const message = existed ? '' : `service "${name}" was not registered`;
    this.#audit.write(req, what, 200, existed ? 'removed' : message);
    send(res, 200, { Status: 'OK', Message: message, ServiceName: name });
  }
}
