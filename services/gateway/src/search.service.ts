import { assetContentUrl, Queries, type SearchBody } from '@adseed/contracts';
import { QUERY_CLIENT, type QueryClient } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';

/** The library search (`POST /v1/search`): the retrieval service's hits, each with the URL of its bytes. */
@Injectable()
export class SearchService {
  constructor(@Inject(QUERY_CLIENT) private readonly queries: QueryClient) {}

  async search(tenant: string, body: SearchBody) {
    const reply = await this.queries.call(Queries.search, {
      tenant,
      text: body.text,
      k: body.k,
      kind: body.kind,
      encoders: body.encoders ?? ['clip', 'caption'],
      ...(body.tags ? { tagsAll: body.tags } : {}),
      ...(body.minScore !== undefined ? { minScore: body.minScore } : {}),
      ...(body.channel ? { channel: body.channel } : {}),
    });
    return { ...reply, hits: reply.hits.map((h) => ({ ...h, url: assetContentUrl(h.path) })) };
  }
}
