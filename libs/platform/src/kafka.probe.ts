import type { CommonEnv } from '@adseed/config';
import { Kafka, logLevel, type Admin, type SASLOptions } from 'kafkajs';

/**
 * Readiness of the Kafka cluster the service's bus uses: an admin client of its own (the bus's
 * clients retry for minutes, a probe must answer in seconds) that asks for the cluster's brokers
 * and controller. One connection, kept between probes and dropped after a failure.
 */
export class KafkaClusterProbe {
  private readonly kafka: Kafka;
  private admin?: Admin;

  constructor(env: CommonEnv, service: string) {
    this.kafka = new Kafka({
      clientId: `${env.KAFKA_CLIENT_ID}-${service}-readiness`,
      brokers: env.KAFKA_BROKERS,
      ssl: env.KAFKA_SSL,
      connectionTimeout: 2_000,
      requestTimeout: 2_500,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
      ...(env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD
        ? { sasl: { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD } as SASLOptions }
        : {}),
    });
  }

  async describe(): Promise<{ brokers: number; controller: number | null }> {
    const admin = (this.admin ??= this.kafka.admin());
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return { brokers: cluster.brokers.length, controller: cluster.controller };
    } catch (error) {
      this.admin = undefined;
      await admin.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }
}
