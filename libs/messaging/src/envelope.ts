import { randomUUID } from 'node:crypto';
import { toErrorIssues, type TopicDef } from '@adseed/contracts';
import { H, type Headers } from './event-bus.port';

/** CloudEvents binary-mode attributes for a new message; caller headers win. */
export function cloudEventHeaders(topic: string, source: string, extra?: Headers): Headers {
  return {
    [H.id]: randomUUID(),
    [H.type]: topic,
    [H.source]: source,
    [H.time]: new Date().toISOString(),
    [H.specversion]: '1.0',
    [H.contentType]: 'application/json',
    ...extra,
  };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses and validates a raw payload; never throws, so a poison message cannot crash a consumer. */
export function decode<T>(topic: TopicDef<T>, raw: string): Decoded<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `payload is not JSON: ${(error as Error).message}` };
  }
  const result = topic.schema.safeParse(parsed);
  if (!result.success) {
    const issues = toErrorIssues(result.error)
      .map((i) => `${i.field}: ${i.reason}`)
      .join('; ');
    return { ok: false, reason: `payload does not match ${topic.name}: ${issues}` };
  }
  return { ok: true, value: result.data };
}

/** Validates before sending, so a producer bug is caught at its source, not downstream. */
export function encode<T>(topic: TopicDef<T>, value: T): string {
  const result = topic.schema.safeParse(value);
  if (!result.success) {
    const issues = toErrorIssues(result.error)
      .map((i) => `${i.field}: ${i.reason}`)
      .join('; ');
    throw new Error(`refusing to publish an invalid ${topic.name}: ${issues}`);
  }
  return JSON.stringify(result.data);
}
