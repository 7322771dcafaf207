import { Conversation } from '@adseed/contracts';
import { SERVICE_CONFIG } from '@adseed/platform';
import { OBJECT_STORE, ObjectNotFoundError, type ObjectStore } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentEnv } from './agent.env';

/**
 * Conversations live in the object store as JSON (`<state bucket>/conversations/<tenant>/<id>.json`),
 * so any agent replica can continue any conversation and a restart loses nothing.
 */
@Injectable()
export class ConversationRepository {
  /** The state bucket (`ADSEED_BUCKET_STATE`). */
  private readonly bucket: string;

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(SERVICE_CONFIG) config: AgentEnv,
  ) {
    this.bucket = config.ADSEED_BUCKET_STATE;
  }

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
