import { Conversation } from '@adseed/contracts';
import { ObjectNotFoundError, type ObjectStore } from '@adseed/storage';

/**
 * Conversations live in the object store as JSON (`<state bucket>/conversations/<tenant>/<id>.json`),
 * so any agent replica can continue any conversation and a restart loses nothing.
 */
export class ConversationRepository {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  async init(): Promise<void> {
    await this.store.ensureBucket(this.bucket);
  }

  async get(tenant: string, id: string): Promise<Conversation | undefined> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) return undefined;
    let body: Buffer;
    try {
      ({ body } = await this.store.get(this.bucket, this.key(tenant, id)));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
    return Conversation.parse(JSON.parse(body.toString('utf8')));
  }

  async save(conversation: Conversation): Promise<void> {
    const valid = Conversation.parse(conversation);
    await this.store.put(this.bucket, this.key(valid.tenant, valid.id), Buffer.from(JSON.stringify(valid)), {
      contentType: 'application/json',
      metadata: { tenant: valid.tenant, status: valid.status },
    });
  }

  private key(tenant: string, id: string): string {
    return `conversations/${tenant}/${id}.json`;
  }
}
