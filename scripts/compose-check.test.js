'use strict';
// deploy/compose/docker-compose.yml cannot run here (no Docker engine); this keeps it honest
// against the code instead: the real file must pass scripts/compose-check.js, and broken copies
// of it must be caught, each with the place to fix.
// Run: node --test scripts/compose-check.test.js   (after `npm run build`)
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { COMPOSE_FILE, SCENARIOS, checkCompose, interpolate, loadRepoFacts, parseCompose, resolveCompose, serviceEnvironment } = require('./compose-check');

describe(interpolate.name, () => {
  const env = { SET: 'value', EMPTY: '' };
  it('resolves defaults the way Compose does (":-" on unset or empty, "-" on unset only)', () => {
    assert.equal(interpolate('${SET:-d}/${UNSET:-d}/${EMPTY:-d}', env), 'value/d/d');
    assert.equal(interpolate('${SET-d}/${UNSET-d}/${EMPTY-d}', env), 'value/d/');
    assert.equal(interpolate('${SET:+alt}/${EMPTY:+alt}/${EMPTY+alt}', env), 'alt//alt');
    assert.equal(interpolate('$SET and ${SET}', env), 'value and value');
  });
  it('turns $$ into a literal $ (shell variables inside health checks)', () => {
    assert.equal(interpolate('[ "$$code" = 200 ]', env), '[ "$code" = 200 ]');
  });
  it('fails on required variables and on syntax it does not know', () => {
    assert.throws(() => interpolate('${UNSET:?set it}', env), /UNSET is required: set it/);
    assert.throws(() => interpolate('${EMPTY:?no}', env), /EMPTY is required/);
    assert.equal(interpolate('${EMPTY?no}', env), '');
    assert.throws(() => interpolate('${not valid}', env), /cannot interpolate/);
  });
});

describe(serviceEnvironment.name, () => {
  it('takes value-less entries from the host environment, and drops them when unset there', () => {
    const service = { environment: { A: 'x', TOKEN: null, OTHER: null } };
    assert.deepEqual(serviceEnvironment(service, { TOKEN: 't' }), { A: 'x', TOKEN: 't' });
    assert.deepEqual(serviceEnvironment({ environment: ['A=x=y', 'TOKEN'] }, {}), { A: 'x=y' });
  });
});

describe(loadRepoFacts.name, () => {
  it('reads the scripts, chart and compiled schemas it compares against', () => {
    const facts = loadRepoFacts();
    assert.deepEqual(Object.keys(facts.services), ['agent', 'embedding', 'gateway', 'generation', 'retrieval']);
    assert.match(facts.kafka.version, /^3\.9\.\d+$/);
    assert.equal(facts.kafka.properties['process.roles'], 'broker,controller');
    assert.equal(facts.kafka.properties['auto.create.topics.enable'], 'false');
    assert.match(facts.minio.release, /^RELEASE\.\d{4}-/);
    assert.equal(facts.objectEventsTopic, facts.minio.topic);
    assert.ok(facts.otelVariables.includes('OTEL_EXPORTER_OTLP_ENDPOINT'));
    assert.deepEqual(facts.triton.models, ['clip_image', 'clip_text']);
  });
});

describe(checkCompose.name, () => {
  let facts;
  let original;
  before(() => {
    facts = loadRepoFacts();
    original = parseCompose(fs.readFileSync(COMPOSE_FILE, 'utf8'));
  });

  /** Problems of a broken copy; JSON round trip so that anchors' shared objects are not shared. */
  const problemsAfter = (edit) => {
    const doc = JSON.parse(JSON.stringify(original));
    edit(doc);
    return checkCompose(doc, facts, { composeDir: path.dirname(COMPOSE_FILE) });
  };
  const assertCaught = (edit, where, problem = /./) => {
    const problems = problemsAfter(edit);
    assert.ok(
      problems.some((p) => (typeof where === 'string' ? p.where === where : where.test(p.where)) && problem.test(p.problem)),
      `expected a problem at ${where} matching ${problem}; got:\n${problems.map((p) => `  ${p.where}: ${p.problem}`).join('\n') || '  (none)'}`,
    );
  };

  it('finds nothing wrong with deploy/compose/docker-compose.yml', () => {
    assert.deepEqual(checkCompose(original, facts, { composeDir: path.dirname(COMPOSE_FILE) }), []);
  });

  it('resolves in every scenario README.md describes', () => {
    for (const scenario of SCENARIOS) assert.doesNotThrow(() => resolveCompose(original, scenario.env), scenario.name);
  });

  describe('environment against the services env schemas', () => {
    it('catches a variable no schema reads', () => {
      assertCaught(
        (d) => {
          d.services.gateway.environment.ADSEED_MAX_UPLOAD_MB = '10';
        },
        'services.gateway.environment.ADSEED_MAX_UPLOAD_MB',
        /not read by gateway/,
      );
    });
    it("catches another service's variable (the agent's language-model choice on the gateway)", () => {
      assertCaught(
        (d) => {
          d.services.gateway.environment.ADSEED_LLM = 'openai';
        },
        'services.gateway.environment.ADSEED_LLM',
        /GatewayEnv/,
      );
    });
    it('catches a value the schema rejects', () => {
      assertCaught(
        (d) => {
          d.services.embedding.environment.ADSEED_ENCODER = 'gpu';
        },
        'services.embedding.environment.ADSEED_ENCODER',
        /rejected by EmbeddingEnv/,
      );
    });
    it('catches a scenario that fails only when switched on (Triton without endpoints)', () => {
      assertCaught(
        (d) => {
          delete d.services.embedding.environment.TRITON_ENDPOINTS;
        },
        'services.embedding.environment.TRITON_ENDPOINTS',
        /\[triton encoder\].*required with ADSEED_ENCODER=triton/,
      );
    });
    it('catches the in-memory bus', () => {
      assertCaught(
        (d) => {
          d.services.agent.environment.ADSEED_BUS = 'memory';
        },
        'services.agent.environment.ADSEED_BUS',
        /only works inside one process/,
      );
    });
    it('catches services that disagree on shared settings', () => {
      assertCaught(
        (d) => {
          d.services.generation.environment.ADSEED_BUCKET_ADS = 'ads';
        },
        'services.generation.environment.ADSEED_BUCKET_ADS',
        /differs from/,
      );
    });
    it('catches a secret written into the file', () => {
      assertCaught(
        (d) => {
          d.services.generation.environment.REPLICATE_API_TOKEN = 'r8_abc';
        },
        'services.generation.environment.REPLICATE_API_TOKEN',
        /is a secret/,
      );
      assertCaught(
        (d) => {
          d.services.agent.environment.OPENAI_API_KEY = '${OPENAI_API_KEY:-sk-demo}';
        },
        'services.agent.environment.OPENAI_API_KEY',
        /is a secret/,
      );
    });
  });

  describe('images and builds', () => {
    it('catches a wrong SERVICE build arg and another Dockerfile', () => {
      assertCaught((d) => {
        d.services.retrieval.build.args.SERVICE = 'retriever';
      }, 'services.retrieval.build.args.SERVICE');
      assertCaught((d) => {
        d.services.agent.build.dockerfile = 'Dockerfile';
      }, 'services.agent.build.dockerfile');
      assertCaught(
        (d) => {
          d.services.agent.build.context = '..';
        },
        'services.agent.build.context',
        /repository root/,
      );
    });
    it('catches unpinned images', () => {
      assertCaught(
        (d) => {
          d.services.qdrant.image = 'qdrant/qdrant:latest';
        },
        'services.qdrant.image',
        /not pinned/,
      );
      assertCaught(
        (d) => {
          d.services.gateway.image = 'adseed-gateway';
        },
        'services.gateway.image',
        /not pinned/,
      );
    });
    it('catches infrastructure versions that left the local scripts, chart or client', () => {
      assertCaught(
        (d) => {
          d.services.kafka.image = 'apache/kafka:4.0.0';
        },
        'services.kafka.image',
        /kafkajs/,
      );
      assertCaught(
        (d) => {
          d.services.minio.image = 'minio/minio:RELEASE.2024-01-01T00-00-00Z';
        },
        'services.minio.image',
        /minio\.sh/,
      );
      assertCaught(
        (d) => {
          d.services.triton.image = 'nvcr.io/nvidia/tritonserver:24.01-py3';
        },
        'services.triton.image',
        /chart/,
      );
      assertCaught(
        (d) => {
          d.services.qdrant.image = 'qdrant/qdrant:v1.12.0';
        },
        'services.qdrant.image',
        /js-client-rest/,
      );
    });
  });

  describe('Kafka and MinIO as scripts/infra runs them', () => {
    it('catches a broker setting that differs from kafka.sh', () => {
      assertCaught(
        (d) => {
          d.services.kafka.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE = 'true';
        },
        'services.kafka.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE',
        /auto\.create\.topics\.enable=false/,
      );
      assertCaught((d) => {
        delete d.services.kafka.environment.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS;
      }, 'services.kafka.environment.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS');
    });
    it('catches a bad cluster id and broker data off the volume', () => {
      assertCaught((d) => {
        d.services.kafka.environment.CLUSTER_ID = 'adseed';
      }, 'services.kafka.environment.CLUSTER_ID');
      assertCaught(
        (d) => {
          d.services.kafka.volumes = [];
        },
        'services.kafka.environment.KAFKA_LOG_DIRS',
        /not on a volume/,
      );
    });
    it('catches a notification topic the embedding service does not consume', () => {
      assertCaught(
        (d) => {
          d.services.minio.environment.MINIO_NOTIFY_KAFKA_TOPIC_ADSEED = 'minio-events';
        },
        'services.minio.environment.MINIO_NOTIFY_KAFKA_TOPIC_ADSEED',
        /StorageTopics/,
      );
    });
    it('catches a gateway ARN that names another MinIO target', () => {
      assertCaught((d) => {
        d.services.gateway.environment.ADSEED_STORAGE_NOTIFY_ARN = 'arn:minio:sqs::OTHER:kafka';
      }, 'services.minio.environment.MINIO_NOTIFY_KAFKA_ENABLE_OTHER');
    });
    it('catches addresses that point at nothing in the file', () => {
      assertCaught(
        (d) => {
          d.services.agent.environment.KAFKA_BROKERS = 'localhost:9092';
        },
        'services.agent.environment.KAFKA_BROKERS',
        /not a listener/,
      );
      assertCaught((d) => {
        d.services.retrieval.environment.QDRANT_URL = 'http://localhost:6333';
      }, 'services.retrieval.environment.QDRANT_URL');
      assertCaught(
        (d) => {
          d.services.embedding.environment.TRITON_ENDPOINTS = 'triton:8000';
        },
        'services.embedding.environment.TRITON_ENDPOINTS',
        /gRPC/,
      );
      assertCaught((d) => {
        d.services.minio.environment.MINIO_ROOT_PASSWORD = 'changed';
      }, /^services\.(agent|embedding|gateway|generation|retrieval)\.environment\.MINIO_ACCESS_KEY$/);
    });
    it('catches host ports that differ from scripts/infra, including when overridden', () => {
      assertCaught(
        (d) => {
          d.services.minio.ports[0] = '127.0.0.1:9000:9000';
        },
        'services.minio.ports',
        /19000/,
      );
      assertCaught(
        (d) => {
          d.services.qdrant.ports[0] = '${ADSEED_QDRANT_PORT:-16333}:6333';
        },
        'services.qdrant.ports',
        /127\.0\.0\.1/,
      );
      // Advertising a fixed port breaks only when ADSEED_KAFKA_PORT moves it.
      assertCaught(
        (d) => {
          d.services.kafka.environment.KAFKA_ADVERTISED_LISTENERS = 'PLAINTEXT://kafka:9092,HOST://127.0.0.1:19092';
        },
        'services.kafka.environment.KAFKA_ADVERTISED_LISTENERS',
        /\[moved host ports\]/,
      );
    });
  });

  describe('Triton and models', () => {
    it('catches a GPU service without a reservation or outside a profile', () => {
      assertCaught(
        (d) => {
          delete d.services.triton.deploy;
        },
        'services.triton.deploy.resources.reservations.devices',
        /KIND_GPU/,
      );
      assertCaught((d) => {
        delete d.services.triton.profiles;
      }, 'services.triton.profiles');
    });
    it('catches a model repository that is not deploy/triton', () => {
      assertCaught(
        (d) => {
          d.services.triton.volumes = ['./models:/models:ro'];
        },
        'services.triton.volumes',
        /deploy\/triton\/model_repository/,
      );
    });
    it('catches encoder folders outside the read-only models mount', () => {
      assertCaught(
        (d) => {
          d.services.embedding.volumes = ['${ADSEED_MODELS_DIR:-../../.cache/models}:/models'];
        },
        'services.embedding.volumes',
        /read-only/,
      );
      assertCaught(
        (d) => {
          d.services.embedding.environment.ADSEED_CLIP_MODEL_DIR = '/opt/clip';
        },
        'services.embedding.environment.ADSEED_CLIP_MODEL_DIR',
        /not inside a mounted volume/,
      );
    });
  });

  describe('health checks and start order', () => {
    it('catches a service without a health check, and the service_healthy waits on it', () => {
      const problems = problemsAfter((d) => {
        delete d.services.qdrant.healthcheck;
      });
      assert.ok(problems.some((p) => p.where === 'services.qdrant.healthcheck'));
      assert.ok(problems.some((p) => p.where === 'services.retrieval.depends_on.qdrant' && /no health check/.test(p.problem)));
    });
    it('catches a liveness-only probe on a service', () => {
      assertCaught(
        (d) => {
          d.services.agent.healthcheck = { test: ['CMD', 'node', '/app/healthcheck.js'], interval: '10s', timeout: '5s', retries: 3 };
        },
        'services.agent.healthcheck.test',
        /readyz/,
      );
    });
    it('catches depends_on without conditions, and a missing start-order edge', () => {
      assertCaught(
        (d) => {
          d.services.agent.depends_on = ['kafka', 'minio'];
        },
        'services.agent.depends_on',
        /long form/,
      );
      assertCaught(
        (d) => {
          d.services.agent.depends_on.kafka = {};
        },
        'services.agent.depends_on.kafka',
        /condition/,
      );
      assertCaught(
        (d) => {
          delete d.services.gateway.depends_on.embedding;
        },
        'services.gateway.depends_on.embedding',
        /topic/,
      );
    });
    it('catches a required dependency on a profile-only service', () => {
      assertCaught(
        (d) => {
          delete d.services.embedding.depends_on.triton.required;
        },
        'services.embedding.depends_on.triton',
        /required: false/,
      );
    });
    it('catches cycles', () => {
      assertCaught(
        (d) => {
          d.services.kafka.depends_on = { gateway: { condition: 'service_started' } };
        },
        /^services\.\w+\.depends_on$/,
        /cycle/,
      );
    });
    it('catches a topic-creating init job (the services create their topics)', () => {
      assertCaught(
        (d) => {
          d.services['kafka-init'] = {
            image: 'apache/kafka:3.9.2',
            command: ['/opt/kafka/bin/kafka-topics.sh', '--create'],
            healthcheck: { test: ['CMD', 'true'], interval: '5s', timeout: '1s', retries: 1 },
          };
        },
        'services.kafka-init.command',
        /create theirs/,
      );
    });
  });

  it('as a command: exit 0 on the real file, 1 with the place to fix on a broken one', () => {
    const ok = spawnSync(process.execPath, [path.join(__dirname, 'compose-check.js')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /agrees with the code/);
    const broken = path.join(path.dirname(COMPOSE_FILE), `.compose-check-${process.pid}.yml`);
    fs.writeFileSync(
      broken,
      fs.readFileSync(COMPOSE_FILE, 'utf8').replace('KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false"', 'KAFKA_AUTO_CREATE_TOPICS_ENABLE: "true"'),
    );
    try {
      const bad = spawnSync(process.execPath, [path.join(__dirname, 'compose-check.js'), broken], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /services\.kafka\.environment\.KAFKA_AUTO_CREATE_TOPICS_ENABLE: is "true"/);
    } finally {
      fs.rmSync(broken, { force: true });
    }
  });
});
