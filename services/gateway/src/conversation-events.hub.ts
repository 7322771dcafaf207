import { ConversationTopics, type Conversation } from '@adseed/contracts';
import { type Subscription, EVENT_BUS, type EventBus } from '@adseed/messaging';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { untilListening } from './event-stream';
import { replicaGroup } from './replica-group';

type Listener = (conversation: Conversation) => void;

/**
 * Fans `conversation.updated` out to the SSE clients of this gateway replica. Each replica is its
 * own consumer group (`replicaGroup`: named after the replica, deleted when it stops), starting
 * at new messages: every replica sees every update.
 */
@Injectable()
export class ConversationEventsHub implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly listeners = new Map<string, Set<Listener>>();
  private subscription: Subscription | undefined;

  constructor(@Inject(EVENT_BUS) private readonly bus: EventBus) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.bus.subscribe(
      ConversationTopics.updated,
      { group: replicaGroup('gateway-sse'), fromBeginning: false, ephemeral: true },
      async (m) => {
        for (const listener of this.listeners.get(m.key) ?? []) listener(m.value);
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
  }

  /** Resolves once updates reach this hub: a stream that reads the stored state after this misses no change. */
  listening(): Promise<void> {
    return untilListening(this.subscription, ConversationTopics.updated.name);
  }

  listen(conversationId: string, listener: Listener): () => void {
    const set = this.listeners.get(conversationId) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(conversationId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(conversationId);
    };
  }
}
