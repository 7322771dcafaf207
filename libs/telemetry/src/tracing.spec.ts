import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver';
import {
  currentService,
  currentTraceId,
  resolveTracingConfig,
  SERVICE_ATTRIBUTE,
  startTracing,
  traceMethods,
  withConsumerSpan,
  withProducerSpan,
  withSpan,
  type Tracing,
} from './tracing';

/**
 * Starts tracing as a process started with these variables would (the SDK reads process.env,
 * while it is built); the variables are put back afterwards.
 */
function startTracingWith(variables: Record<string, string>, serviceName = 'unit'): Tracing {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return startTracing({ serviceName });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe(resolveTracingConfig.name, () => {
  it('is off when neither an exporter nor an endpoint is configured', () => {
    const config = resolveTracingConfig({}, 'gateway');
    assert.equal(config.enabled, false);
    assert.equal(config.serviceName, 'gateway');
  });

  it('is on with an endpoint (base or per-signal) or an exporter, naming the service after OTEL_SERVICE_NAME', () => {
    assert.deepEqual(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'adseed-x' }, 'gateway'), {
      enabled: true,
      serviceName: 'adseed-x',
    });
    assert.equal(resolveTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:1/custom' }, 's').enabled, true);
    assert.equal(resolveTracingConfig({ OTEL_TRACES_EXPORTER: 'console' }, 's').enabled, true);
    assert.equal(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 's').enabled, true);
  });

  it('honours OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED', () => {
    assert.equal(resolveTracingConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:1' }, 's').enabled, false);
    assert.equal(resolveTracingConfig({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:1' }, 's').enabled, false);
  });

  it('rejects values the SDK would only warn about, naming the variable', () => {
    assert.throws(() => resolveTracingConfig({ OTEL_TRACES_EXPORTER: 'jaeger' }, 's'), /OTEL_TRACES_EXPORTER: unsupported jaeger/);
    assert.throws(
      () => resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, 's'),
      /OTEL_EXPORTER_OTLP_PROTOCOL/,
    );
    assert.throws(() => resolveTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'udp' }, 's'), /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
    assert.throws(
      () => resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 's'),
      /OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" is not an http\(s\) URL/,
    );
  });
});

describe('tracing through an OTLP receiver', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(() => receiver?.close());

  for (const protocol of ['http/protobuf', 'http/json']) {
    it(`exports nested spans, errors and per-service attribution over ${protocol}`, async () => {
      const tracing = startTracingWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
      const before = receiver.spans.length;
      let traceId: string | undefined;
      try {
        await withSpan(
          'outer',
          { 'test.protocol': protocol },
          async () => {
            traceId = currentTraceId();
            assert.equal(currentService(), 'alpha');
            await withSpan('inner', { n: 3 }, async () => undefined);
            await assert.rejects(
              withSpan('failing', {}, async () => Promise.reject(new Error('boom'))),
              /boom/,
            );
            assert.throws(
              () =>
                withSpan('throwing-sync', {}, () => {
                  throw new Error('sync boom');
                }),
              /sync boom/,
            );
          },
          { service: 'alpha' },
        );
        await tracing.flush();
      } finally {
        await tracing.shutdown();
      }
      const mine = receiver.spans.slice(before);
      const byName = (name: string) => mine.find((s) => s.name === name)!;
      assert.deepEqual(mine.map((s) => s.name).sort(), ['failing', 'inner', 'outer', 'throwing-sync']);
      assert.match(traceId!, /^[0-9a-f]{32}$/);
      for (const span of mine) {
        assert.equal(span.traceId, traceId);
        assert.equal(span.serviceName, 'unit');
        assert.equal(span.attributes[SERVICE_ATTRIBUTE], 'alpha', `${span.name} inherits the service of its parent`);
        assert.equal(span.scope, 'adseed.alpha');
      }
      assert.equal(byName('outer').parentSpanId, '');
      assert.equal(byName('inner').parentSpanId, byName('outer').spanId);
      assert.equal(byName('inner').attributes.n, 3);
      assert.equal(byName('outer').attributes['test.protocol'], protocol);
      assert.equal(byName('failing').statusCode, 2);
      assert.equal(byName('failing').statusMessage, 'boom');
      assert.equal(byName('throwing-sync').statusCode, 2);
      assert.equal(byName('inner').statusCode, 0);
      assert.ok(receiver.requests[protocol === 'http/json' ? 'json' : 'protobuf'] > 0);
    });
  }

  it('carries a trace across a message only through its headers', async () => {
    const tracing = startTracingWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const before = receiver.spans.length;
    let sent: Record<string, string> = {};
    try {
      withSpan(
        'request',
        {},
        () =>
          withProducerSpan(
            { system: 'in-process', topic: 'adseed.t.v1', service: 'gateway', messageId: 'm-1', key: 'k' },
            { ce_id: 'm-1', traceparent: 'stale' },
            (headers) => {
              sent = headers;
            },
          ),
        { service: 'gateway' },
      );
      // The consumer runs inside an unrelated span, as a broker pump would: it must not become the parent.
      await withSpan(
        'unrelated',
        {},
        () =>
          withConsumerSpan(
            { system: 'in-process', topic: 'adseed.t.v1', service: 'agent', messageId: 'm-1', group: 'agent', partition: 0, offset: 7 },
            sent,
            async () => {
              assert.equal(currentService(), 'agent');
              await withSpan('handler work', {}, async () => undefined);
            },
          ),
        { service: 'other' },
      );
      await withConsumerSpan({ system: 'kafka', topic: 'adseed.t.v1', service: 'agent' }, {}, async () => undefined);
      await tracing.flush();
    } finally {
      await tracing.shutdown();
    }
    const mine = receiver.spans.slice(before);
    const one = (predicate: (s: ReceivedSpan) => boolean) => {
      const found = mine.filter(predicate);
      assert.equal(found.length, 1, `exactly one match among ${mine.map((s) => s.name).join(', ')}`);
      return found[0];
    };
    const request = one((s) => s.name === 'request');
    const producer = one((s) => s.kind === 'producer');
    const consumer = one((s) => s.kind === 'consumer' && s.attributes['messaging.system'] === 'in-process');
    const work = one((s) => s.name === 'handler work');
    const unrelated = one((s) => s.name === 'unrelated');
    const orphan = one((s) => s.kind === 'consumer' && s.attributes['messaging.system'] === 'kafka');

    assert.match(sent.traceparent, new RegExp(`^00-${request.traceId}-${producer.spanId}-01$`), 'the stale traceparent is replaced');
    assert.equal(producer.name, 'adseed.t.v1 publish');
    assert.equal(producer.parentSpanId, request.spanId);
    assert.equal(consumer.name, 'adseed.t.v1 process');
    assert.equal(consumer.traceId, request.traceId);
    assert.equal(consumer.parentSpanId, producer.spanId);
    assert.notEqual(consumer.traceId, unrelated.traceId);
    assert.deepEqual(
      {
        system: consumer.attributes['messaging.system'],
        destination: consumer.attributes['messaging.destination.name'],
        id: consumer.attributes['messaging.message.id'],
        group: consumer.attributes['messaging.consumer.group.name'],
        partition: consumer.attributes['messaging.destination.partition.id'],
        offset: consumer.attributes['messaging.kafka.offset'],
        service: consumer.attributes[SERVICE_ATTRIBUTE],
      },
      { system: 'in-process', destination: 'adseed.t.v1', id: 'm-1', group: 'agent', partition: '0', offset: 7, service: 'agent' },
    );
    assert.equal(work.parentSpanId, consumer.spanId);
    assert.equal(work.attributes[SERVICE_ATTRIBUTE], 'agent');
    assert.equal(orphan.parentSpanId, '', 'no traceparent: a new trace, not a child of whatever was active');
  });

  it('wraps a port so each call is a span, keeping `this`, results, errors and instanceof', async () => {
    class Store {
      private readonly items = new Map<string, string>([['a', 'x']]);
      label = 'not a method';
      async get(bucket: string, key: string): Promise<string> {
        const found = this.items.get(key);
        if (!found) throw new Error(`no object ${bucket}/${key}`);
        return found;
      }
      size(): number {
        return this.items.size;
      }
    }
    const tracing = startTracingWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const before = receiver.spans.length;
    const store = traceMethods(new Store(), 'ObjectStore', {
      attributes: (_method, [bucket, key]) => ({ 'adseed.store.bucket': String(bucket), 'adseed.store.key': key as string | undefined }),
    });
    try {
      assert.ok(store instanceof Store);
      assert.equal(store.label, 'not a method');
      assert.equal(store.get, store.get, 'a stable function per method');
      await withSpan(
        'caller',
        {},
        async () => {
          assert.equal(await store.get('seeds', 'a'), 'x');
          await assert.rejects(store.get('seeds', 'missing'), /no object seeds\/missing/);
          assert.equal(store.size(), 1);
        },
        { service: 'agent' },
      );
      await tracing.flush();
    } finally {
      await tracing.shutdown();
    }
    const mine = receiver.spans.slice(before);
    const caller = mine.find((s) => s.name === 'caller')!;
    const gets = mine.filter((s) => s.name === 'ObjectStore.get');
    assert.equal(gets.length, 2);
    assert.deepEqual(
      gets.map((s) => [s.parentSpanId, s.attributes['adseed.store.key'], s.statusCode, s.attributes[SERVICE_ATTRIBUTE]]),
      [
        [caller.spanId, 'a', 0, 'agent'],
        [caller.spanId, 'missing', 2, 'agent'],
      ],
    );
    assert.equal(mine.filter((s) => s.name === 'ObjectStore.size').length, 1);
  });

  it('leaves the OTEL_* variables to the SDK: per-signal endpoint, service name, resource attributes', async () => {
    const tracing = startTracingWith({
      // used as is (no /v1/traces appended), as the OTLP spec says for the per-signal variable
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_SERVICE_NAME: 'adseed-named',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=unit-test,service.namespace=elsewhere',
    });
    const before = receiver.spans.length;
    try {
      assert.deepEqual(tracing.config, { enabled: true, serviceName: 'adseed-named' });
      withSpan('named', {}, () => undefined);
      await tracing.flush();
    } finally {
      await tracing.shutdown();
    }
    const [span] = receiver.spans.slice(before);
    assert.equal(span?.name, 'named');
    assert.equal(span.serviceName, 'adseed-named', 'OTEL_SERVICE_NAME wins over the default service name');
    assert.equal(span.resource['deployment.environment.name'], 'unit-test');
    assert.equal(span.resource['service.namespace'], 'elsewhere', 'OTEL_RESOURCE_ATTRIBUTES wins over our default namespace');
    assert.equal(span.resource['telemetry.sdk.language'], 'nodejs');
  });

  it('exports nothing when the SDK is told not to: OTEL_TRACES_SAMPLER=always_off, OTEL_TRACES_EXPORTER=none', async () => {
    const before = receiver.spans.length;
    const sampledOff = startTracingWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_SAMPLER: 'always_off' });
    try {
      assert.equal(sampledOff.config.enabled, true);
      withSpan('never sampled', {}, () => undefined);
      await sampledOff.flush();
    } finally {
      await sampledOff.shutdown();
    }
    const none = startTracingWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_EXPORTER: 'none' });
    try {
      assert.equal(none.config.enabled, false);
      withSpan('never exported', {}, () => undefined);
      await none.flush();
    } finally {
      await none.shutdown();
    }
    // One span exported afterwards proves the receiver was listening all along.
    const on = startTracingWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    try {
      withSpan('exported', {}, () => undefined);
      await on.flush();
    } finally {
      await on.shutdown();
    }
    assert.deepEqual(
      receiver.spans.slice(before).map((s) => s.name),
      ['exported'],
    );
  });

  it('stays out of the way when tracing is off', async () => {
    const tracing = startTracingWith({});
    assert.equal(tracing.config.enabled, false);
    const headers = withProducerSpan({ system: 'kafka', topic: 't', service: 's' }, { traceparent: 'from-upstream' }, (h) => h);
    assert.equal(headers.traceparent, 'from-upstream', 'upstream context passes through untouched');
    assert.equal(await withSpan('x', {}, async () => 42), 42);
    assert.equal(currentTraceId(), undefined);
    await tracing.shutdown();
  });
});
