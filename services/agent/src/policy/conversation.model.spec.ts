import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Conversation as ContractConversation, SeedHit as ContractSeedHit } from '@adseed/contracts';
import type { Conversation, SeedHit } from './conversation.model';

/** True only when A and B are the same type (not merely assignable one way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// These lines stop compiling if the plain types drift from the contracts' zod schema.
const conversationMatches: Equals<Conversation, ContractConversation> = true;
const seedHitMatches: Equals<SeedHit, ContractSeedHit> = true;

describe('conversation.model', () => {
  it('has the same Conversation and SeedHit shapes as the contracts library (checked by the compiler)', () => {
    assert.equal(conversationMatches && seedHitMatches, true);
  });
});
