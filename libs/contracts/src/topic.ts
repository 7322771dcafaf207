import { z } from 'zod';

/**
 * A versioned topic `<domain>.<entity>.<event>.v<N>` and the schema of its payload. Every topic
 * has a `.dlt` dead-letter twin that receives messages which failed validation or processing.
 */
export interface TopicDef<T> {
  readonly name: string;
  readonly schema: z.ZodType<T>;
  /** Partitions to create on brokers that need it explicitly (Kafka). */
  readonly partitions: number;
}

const TOPIC_NAME = /^[a-z]+\.[a-z-]+\.[a-z-]+\.v[0-9]+$/;

export function defineTopic<S extends z.ZodType>(name: string, schema: S, partitions = 3): TopicDef<z.infer<S>> {
  if (!TOPIC_NAME.test(name)) throw new Error(`topic name ${name} is not <domain>.<entity>.<event>.v<N>`);
  return { name, schema: schema as z.ZodType<z.infer<S>>, partitions };
}

export const deadLetterTopicName = (topic: string): string => `${topic}.dlt`;

/** A `ServiceError` as it travels between services (gRPC metadata, a single ad's outcome event), so callers can map it to HTTP. */
export const RemoteErrorPayload = z.object({
  status: z.number().int(),
  code: z.string(),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
});
export type RemoteErrorPayload = z.infer<typeof RemoteErrorPayload>;
