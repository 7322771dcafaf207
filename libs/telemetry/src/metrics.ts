import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per service process (in the one-process mode each service still gets
 * its own registry, labelled by service, and the gateway's /metrics concatenates them).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method'>;
  readonly consumed: Counter<'topic' | 'group' | 'outcome'>;
  readonly deadLettered: Counter<'topic'>;
  readonly consumerLag: Gauge<'topic' | 'group'>;
  readonly encoderBatchSize: Histogram<'tower'>;
  readonly encoderLatency: Histogram<'tower'>;
  readonly generationDuration: Histogram<'generator'>;
  readonly indexVectors: Gauge<'tenant'>;

  constructor(
    readonly service: string,
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels({ service });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: ['route', 'method', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'method'],
      registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.consumed = new Counter({
      name: 'adseed_messages_consumed_total',
      help: 'Messages handled by consumers',
      labelNames: ['topic', 'group', 'outcome'],
      registers,
    });
    this.deadLettered = new Counter({ name: 'adseed_dlt_messages_total', help: 'Messages sent to a dead-letter topic', labelNames: ['topic'], registers });
    this.consumerLag = new Gauge({ name: 'adseed_kafka_consumer_lag', help: 'Messages not yet consumed', labelNames: ['topic', 'group'], registers });
    this.encoderBatchSize = new Histogram({
      name: 'adseed_encoder_batch_size',
      help: 'Inputs per encoder call',
      labelNames: ['tower'],
      registers,
      buckets: [1, 2, 4, 8, 16, 32, 64],
    });
    this.encoderLatency = new Histogram({
      name: 'adseed_encoder_latency_seconds',
      help: 'Encoder call latency',
      labelNames: ['tower'],
      registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.generationDuration = new Histogram({
      name: 'adseed_generation_duration_seconds',
      help: 'Ad generation time',
      labelNames: ['generator'],
      registers,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    });
    this.indexVectors = new Gauge({ name: 'adseed_index_vectors', help: 'Vectors in the index', labelNames: ['tenant'], registers });
  }
}
