/** The operator's client: API keys and adapter keys, with the server's admin key. */
import { createClient, type Client as ServiceClient, type Transport } from "@connectrpc/connect";

import { all, Authenticated, type CallSettings, pages, required, seconds } from "./call.js";
import {
  type ApiKey,
  AdminService,
  type CreateAdapterKeyResponse,
  type RotateApiKeyResponse,
} from "./gen/labelwire/v1/admin_service_pb.js";

/** For the operator: needs the server's admin key. */
export class AdminClient extends Authenticated {
  readonly service: ServiceClient<typeof AdminService>;

  constructor(transport: Transport, adminKey: string) {
    super(adminKey);
    this.service = createClient(AdminService, transport);
  }

  /** A new client's API key (shown only now); `ttlSeconds` makes it expire. */
  async createApiKey(clientName: string, options: { ttlSeconds?: number } & CallSettings = {}): Promise<string> {
    const ttl = options.ttlSeconds ? seconds(options.ttlSeconds) : undefined;
    return (await this.service.createApiKey({ clientName, ttl }, this.call(options))).apiKey;
  }

  /** The keys of one client (`clients/{c}`) or of every client, without secrets. */
  async listApiKeys(parent = "clients/-", settings?: CallSettings): Promise<ApiKey[]> {
    return all(
      pages(
        (pageToken) => this.service.listApiKeys({ parent, pageToken }, this.call(settings)),
        (page) => page.apiKeys,
      ),
    );
  }

  async revokeApiKey(name: string, settings?: CallSettings): Promise<ApiKey> {
    return required((await this.service.revokeApiKey({ name }, this.call(settings))).apiKey, "RevokeApiKeyResponse.apiKey");
  }

  /** A new key for the key's client (`.secret`, shown only now); the old one works `gracePeriodSeconds` more. */
  async rotateApiKey(
    name: string,
    options: { gracePeriodSeconds?: number; ttlSeconds?: number } & CallSettings = {},
  ): Promise<RotateApiKeyResponse> {
    const request = {
      name,
      gracePeriod: seconds(options.gracePeriodSeconds ?? 0),
      ttl: options.ttlSeconds ? seconds(options.ttlSeconds) : undefined,
    };
    return this.service.rotateApiKey(request, this.call(options));
  }

  /** A key for a workforce adapter in its own process (`.adapterKey`, shown only now): it serves the `remote` jobs naming `adapterName`. */
  async createAdapterKey(
    adapterName: string,
    options: { ttlSeconds?: number } & CallSettings = {},
  ): Promise<CreateAdapterKeyResponse> {
    const ttl = options.ttlSeconds ? seconds(options.ttlSeconds) : undefined;
    return this.service.createAdapterKey({ adapterName, ttl }, this.call(options));
  }

  async revokeAdapterKey(name: string, settings?: CallSettings): Promise<void> {
    await this.service.revokeAdapterKey({ name }, this.call(settings));
  }
}
