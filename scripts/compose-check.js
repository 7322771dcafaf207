'use strict';
// Checks deploy/compose/docker-compose.yml against the code, without a Docker engine:
//   - the five services build from docker/Dockerfile with their SERVICE arg, at the repository's
//     version, and every environment variable they get is read by them (CommonEnv, the service's
//     own schema, the OTEL_* variables of libs/telemetry) and parses, in several scenarios;
//   - the wiring holds: brokers, MinIO, Qdrant and Triton addresses point at services of the
//     file, MinIO's Kafka notification target is the one the gateway names, on the topic of
//     libs/contracts;
//   - the servers match scripts/infra/*.sh (Kafka version and broker settings, MinIO release and
//     credentials, host ports), Triton matches the chart and deploy/triton, Qdrant the client;
//   - health checks everywhere, depends_on with conditions and no cycles, pinned images.
//
//   node scripts/compose-check.js [compose file]     (after `npm run build`; exits 1 on problems)
//
// The test beside it (compose-check.test.js) runs this on the real file and on broken copies.
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const REPO = path.resolve(__dirname, '..');
const COMPOSE_FILE = path.join(REPO, 'deploy', 'compose', 'docker-compose.yml');
/** Variables whose value must never be written in the file: passed through from the shell, or `${VAR}` without default. */
const SECRET_VARIABLES = ['ADSEED_API_KEYS', 'OPENAI_API_KEY', 'REPLICATE_API_TOKEN', 'QDRANT_API_KEY', 'KAFKA_SASL_PASSWORD'];
/** Broker settings that depend on where Kafka runs (addresses, paths); every other one must equal kafka.sh's. */
const KAFKA_SITE_PROPERTIES = ['listeners', 'advertised.listeners', 'listener.security.protocol.map', 'controller.quorum.voters', 'log.dirs'];
/** Variables of the apache/kafka image that configure the JVM rather than the broker. */
const KAFKA_NON_PROPERTY_VARIABLES =
  /^KAFKA_(HEAP_OPTS|OPTS|JMX_OPTS|JVM_PERFORMANCE_OPTS|GC_LOG_OPTS|LOG4J_OPTS|LOG4J_LOGGERS|LOG4J_ROOT_LOGLEVEL|TOOLS_LOG4J_LOGLEVEL|VERSION)$/;
const HEALTH_CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'];

// ---- reading -----------------------------------------------------------------------------------

/** Compose YAML with merge keys (`<<: *anchor`) resolved, as Docker Compose reads it. */
function parseCompose(text) {
  return YAML.parse(text, { merge: true, uniqueKeys: true });
}

/**
 * Compose variable interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`. Throws on what it cannot resolve.
 */
function interpolate(text, env) {
  return text.replace(/\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, _m, braced, bare) => {
    if (whole === '$$') return '$';
    if (bare !== undefined) return env[bare] ?? '';
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(braced);
    if (!m) throw new Error(`cannot interpolate "${whole}" in "${text}"`);
    const [, name, op, arg = ''] = m;
    const value = env[name];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op) {
      case undefined:
        return value ?? '';
      case ':-':
        return nonEmpty ? value : arg;
      case '-':
        return set ? value : arg;
      case ':?':
        if (!nonEmpty) throw new Error(`${name} is required: ${arg}`);
        return value;
      case '?':
        if (!set) throw new Error(`${name} is required: ${arg}`);
        return value;
      case ':+':
        return nonEmpty ? arg : '';
      case '+':
        return set ? arg : '';
    }
    throw new Error(`unsupported interpolation "${whole}"`);
  });
}

/** The document with every string value interpolated (keys stay as written, like Compose). */
function resolveCompose(doc, env) {
  const walk = (node) => {
    if (typeof node === 'string') return interpolate(node, env);
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(doc);
}

/** A service's environment as the container sees it: list or map form, value-less entries taken from `hostEnv`. */
function serviceEnvironment(service, hostEnv) {
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw)
    ? raw.map((line) => {
        const cut = String(line).indexOf('=');
        return cut < 0 ? [line, null] : [line.slice(0, cut), line.slice(cut + 1)];
      })
    : Object.entries(raw);
  const env = {};
  for (const [key, value] of entries) {
    if (value === null || value === undefined) {
      if (hostEnv[key] !== undefined) env[key] = hostEnv[key];
    } else env[key] = String(value);
  }
  return env;
}

/** Published ports as `{ hostIp, published, target }`, from the short or the long syntax. */
function publishedPorts(service) {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return { hostIp: p.host_ip ?? '', published: String(p.published ?? ''), target: String(p.target) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = parts.pop();
    const published = parts.pop() ?? '';
    return { hostIp: parts.join(':'), published, target };
  });
}

/** Volume mounts as `{ source, target, readOnly }` (short or long syntax). */
function mounts(service) {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source ?? '', target: v.target, readOnly: v.read_only === true };
    const [source, target, mode = ''] = String(v).split(':');
    return target === undefined ? { source: '', target: source, readOnly: false } : { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

function imageParts(image) {
  const m = /^(.*?)(?::([^:@/]+))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(String(image ?? ''));
  return { repository: m?.[1] ?? '', tag: m?.[2], digest: m?.[3] };
}

function hostPort(value) {
  const m = /^(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(value.trim());
  return m ? { host: m[1], port: m[2] } : undefined;
}

// ---- what the repository says ------------------------------------------------------------------

/** Defaults and settings the checks compare against, read from the code, scripts and chart. */
function loadRepoFacts(repo = REPO) {
  const read = (rel) => fs.readFileSync(path.join(repo, rel), 'utf8');
  const need = (rel) => {
    const file = path.join(repo, rel);
    if (!fs.existsSync(file)) throw new Error(`${rel} is missing: run \`npm run build\` first`);
    return require(file);
  };
  const scriptDefault = (rel, variable) => {
    const m = new RegExp(`\\$\\{${variable}:-([^}]*)\\}`).exec(read(rel));
    if (!m) throw new Error(`${rel} no longer defaults ${variable}; update scripts/compose-check.js`);
    return m[1];
  };
  const assigned = (rel, variable) => {
    const m = new RegExp(`^${variable}="([^"]+)"`, 'm').exec(read(rel));
    if (!m) throw new Error(`${rel} no longer sets ${variable}; update scripts/compose-check.js`);
    return m[1];
  };

  const services = {};
  for (const name of fs.readdirSync(path.join(repo, 'services')).sort()) {
    if (!fs.existsSync(path.join(repo, 'services', name, 'src', `${name}.env.ts`))) continue;
    const exportName = `${name[0].toUpperCase()}${name.slice(1)}Env`;
    const schema = need(`services/${name}/dist/${name}.env.js`)[exportName];
    if (!schema?.shape) throw new Error(`services/${name}/dist/${name}.env.js does not export the zod object ${exportName}`);
    services[name] = { schema, schemaName: exportName };
  }
  const { CommonEnv } = need('libs/config/dist/index.js');
  const otelVariables = [...new Set(read('libs/telemetry/dist/tracing.js').match(/\bOTEL_[A-Z_]+/g) ?? [])].sort();

  const kafkaScript = 'scripts/infra/kafka.sh';
  const heredoc = /cat >"\$CONF" <<EOF\n([\s\S]*?)\nEOF/.exec(read(kafkaScript));
  if (!heredoc) throw new Error(`${kafkaScript}: server.properties heredoc not found; update scripts/compose-check.js`);
  const kafkaProperties = {};
  for (const line of heredoc[1].split('\n')) {
    const m = /^([a-z][a-z0-9.\-_]*)=(.*)$/.exec(line.trim());
    if (m) kafkaProperties[m[1]] = m[2];
  }

  const values = YAML.parse(read('charts/adseed/values.yaml'));
  const tritonRepo = path.join(repo, 'deploy', 'triton', 'model_repository');
  const tritonModels = fs
    .readdirSync(tritonRepo)
    .filter((d) => fs.existsSync(path.join(tritonRepo, d, 'config.pbtxt')))
    .sort();
  const tritonNeedsGpu = tritonModels.some((m) => /kind:\s*KIND_GPU/.test(fs.readFileSync(path.join(tritonRepo, m, 'config.pbtxt'), 'utf8')));
  const shimVersion = /--report-version", default="([^"]+)"/.exec(read('test/infra-shims/qdrant_edge_shim.py'))?.[1];

  return {
    repo,
    version: JSON.parse(read('package.json')).version,
    CommonEnv,
    services,
    otelVariables,
    objectEventsTopic: need('libs/contracts/dist/index.js').StorageTopics.objectEvents.name,
    kafka: {
      version: scriptDefault(kafkaScript, 'ADSEED_KAFKA_VERSION'),
      port: scriptDefault(kafkaScript, 'ADSEED_KAFKA_PORT'),
      heap: scriptDefault(kafkaScript, 'ADSEED_KAFKA_HEAP'),
      properties: kafkaProperties,
    },
    minio: {
      release: assigned('scripts/infra/minio.sh', 'MINIO_RELEASE'),
      port: scriptDefault('scripts/infra/minio.sh', 'ADSEED_MINIO_PORT'),
      consolePort: scriptDefault('scripts/infra/minio.sh', 'ADSEED_MINIO_CONSOLE_PORT'),
      topic: scriptDefault('scripts/infra/minio.sh', 'ADSEED_MINIO_NOTIFY_TOPIC'),
      rootUser: scriptDefault('scripts/infra/minio.sh', 'MINIO_ROOT_USER'),
      rootPassword: scriptDefault('scripts/infra/minio.sh', 'MINIO_ROOT_PASSWORD'),
    },
    kserve: {
      grpcPort: scriptDefault('scripts/infra/kserve.sh', 'ADSEED_KSERVE_GRPC_PORT'),
      httpPort: scriptDefault('scripts/infra/kserve.sh', 'ADSEED_KSERVE_HTTP_PORT'),
      metricsPort: scriptDefault('scripts/infra/kserve.sh', 'ADSEED_KSERVE_METRICS_PORT'),
    },
    qdrant: {
      port: scriptDefault('scripts/infra/qdrant-shim.sh', 'ADSEED_QDRANT_PORT'),
      clientVersion: JSON.parse(read('node_modules/@qdrant/js-client-rest/package.json')).version,
      shimVersion,
    },
    chart: values,
    triton: { models: tritonModels, needsGpu: tritonNeedsGpu },
  };
}

/**
 * Environments the file is resolved in: each switches a backend the way README.md says, and
 * every service's environment must still parse. `profiles` are the Compose profiles turned on.
 */
const SCENARIOS = [
  { name: 'defaults', env: {}, profiles: [] },
  { name: 'triton encoder', env: { ADSEED_ENCODER: 'triton' }, profiles: ['triton'] },
  {
    name: 'hosted providers',
    env: {
      ADSEED_GENERATOR: 'replicate',
      REPLICATE_API_TOKEN: 'r8_example',
      ADSEED_LLM: 'openai',
      OPENAI_API_KEY: 'sk-example',
      ADSEED_API_KEYS: 'key-1:acme',
    },
    profiles: [],
  },
  { name: 'embedded index', env: { ADSEED_INDEX: 'embedded' }, profiles: [] },
  {
    name: 'moved host ports',
    env: {
      ADSEED_KAFKA_PORT: '29092',
      ADSEED_MINIO_PORT: '29000',
      ADSEED_MINIO_CONSOLE_PORT: '29001',
      ADSEED_QDRANT_PORT: '26333',
      ADSEED_KSERVE_GRPC_PORT: '28001',
      ADSEED_KSERVE_HTTP_PORT: '28000',
      ADSEED_KSERVE_METRICS_PORT: '28002',
    },
    profiles: ['triton'],
  },
];

// ---- the checks ----------------------------------------------------------------------------------

/**
 * Every disagreement between the compose document (parsed, not yet interpolated) and the
 * repository, as `{ where, problem }`. Empty when the file is consistent.
 */
function checkCompose(rawDoc, facts, options = {}) {
  const composeDir = options.composeDir ?? path.dirname(COMPOSE_FILE);
  const problems = [];
  const report = (where, problem) => problems.push({ where, problem });
  if (!rawDoc?.services || typeof rawDoc.services !== 'object') {
    report('services', 'no services defined');
    return problems;
  }
  if ('version' in rawDoc) report('version', 'obsolete top-level key: Compose ignores it and warns');

  let doc;
  try {
    doc = resolveCompose(rawDoc, {});
  } catch (error) {
    report('(interpolation)', error.message);
    return problems;
  }
  checkStructure(doc, report);
  checkAdseedServices(doc, facts, composeDir, report);
  for (const scenario of SCENARIOS) {
    let resolved;
    try {
      resolved = resolveCompose(rawDoc, scenario.env);
    } catch (error) {
      report(`(scenario ${scenario.name})`, error.message);
      continue;
    }
    checkEnvironment(resolved, facts, scenario, report);
    checkWiring(resolved, facts, scenario, report);
  }
  checkSecretsNotWritten(rawDoc, facts, report);
  checkInfra(doc, facts, composeDir, report);
  return problems;
}

function checkStructure(doc, report) {
  const services = doc.services;
  for (const [name, s] of Object.entries(services)) {
    const at = `services.${name}`;
    const { tag, digest } = imageParts(s.image);
    if (!s.image) report(`${at}.image`, 'missing: name the image (and pin it) even when it is built here');
    else if (!digest && (!tag || tag === 'latest')) report(`${at}.image`, `"${s.image}" is not pinned: give a version tag (not latest) or a digest`);
    const hc = s.healthcheck;
    if (!hc || hc.disable || !Array.isArray(hc.test) || hc.test.length < 2 || hc.test[0] === 'NONE')
      report(`${at}.healthcheck`, 'missing: every service needs a health check (depends_on waits on it)');
    else
      for (const key of ['interval', 'timeout', 'retries'])
        if (hc[key] === undefined) report(`${at}.healthcheck.${key}`, 'missing: set it rather than rely on Docker defaults (30s timeout)');
    for (const field of ['command', 'entrypoint']) {
      if (JSON.stringify(s[field] ?? '').includes('kafka-topics'))
        report(`${at}.${field}`, 'creates Kafka topics: the services create theirs (and the .dlt twins) themselves');
    }
    const deps = s.depends_on ?? {};
    if (Array.isArray(deps)) {
      report(`${at}.depends_on`, 'short form: use the long form with a condition per dependency');
      continue;
    }
    for (const [dep, spec] of Object.entries(deps)) {
      const where = `${at}.depends_on.${dep}`;
      const target = services[dep];
      if (!target) {
        report(where, `no service "${dep}" in the file`);
        continue;
      }
      if (!spec || !HEALTH_CONDITIONS.includes(spec.condition)) report(where, `condition must be one of ${HEALTH_CONDITIONS.join(', ')}`);
      if (spec?.condition === 'service_healthy' && (!target.healthcheck || target.healthcheck.disable))
        report(where, `service_healthy, but ${dep} has no health check`);
      const targetProfiles = target.profiles ?? [];
      const ownProfiles = s.profiles ?? [];
      if (targetProfiles.length && !targetProfiles.every((p) => ownProfiles.includes(p)) && spec?.required !== false) {
        report(where, `${dep} only runs with profile ${targetProfiles.join('/')}: mark the dependency required: false`);
      }
    }
  }
  // Cycles make `docker compose up` refuse to start.
  const state = new Map();
  const visit = (name, trail) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'open') {
      report(`services.${name}.depends_on`, `cycle: ${[...trail, name].join(' -> ')}`);
      return;
    }
    state.set(name, 'open');
    const deps = services[name]?.depends_on;
    for (const dep of deps && !Array.isArray(deps) ? Object.keys(deps) : (deps ?? [])) if (services[dep]) visit(dep, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) visit(name, []);
}

function dependsOn(service, dep, condition) {
  const spec = service?.depends_on && !Array.isArray(service.depends_on) ? service.depends_on[dep] : undefined;
  return spec?.condition === condition;
}

function checkAdseedServices(doc, facts, composeDir, report) {
  const names = Object.keys(facts.services);
  for (const name of names) {
    const at = `services.${name}`;
    const s = doc.services[name];
    if (!s) {
      report(at, `missing: services/${name} has no container`);
      continue;
    }
    const build = typeof s.build === 'string' ? { context: s.build } : s.build;
    if (!build) report(`${at}.build`, 'missing: build from docker/Dockerfile with SERVICE');
    else {
      if (path.resolve(composeDir, build.context ?? '.') !== facts.repo)
        report(`${at}.build.context`, `"${build.context}" is not the repository root (${path.relative(composeDir, facts.repo) || '.'} from here)`);
      if (build.dockerfile !== 'docker/Dockerfile') report(`${at}.build.dockerfile`, `"${build.dockerfile}": the services' one recipe is docker/Dockerfile`);
      const args = Array.isArray(build.args) ? Object.fromEntries(build.args.map((a) => a.split('='))) : (build.args ?? {});
      if (args.SERVICE !== name) report(`${at}.build.args.SERVICE`, `is "${args.SERVICE}", must be "${name}"`);
    }
    const wantImage = `adseed-${name}:${facts.version}`;
    if (s.image !== wantImage) report(`${at}.image`, `"${s.image}": by default "${wantImage}" (the repository's version, like the chart's appVersion)`);
    const port = String(s.environment?.PORT ?? '8080');
    const probe = JSON.stringify(s.healthcheck?.test ?? []);
    if (!probe.includes(`:${port}/readyz`))
      report(`${at}.healthcheck.test`, `must probe http://127.0.0.1:${port}/readyz (ready, not merely alive, so that depends_on means it)`);
    for (const infra of ['kafka', 'minio'])
      if (!dependsOn(s, infra, 'service_healthy')) report(`${at}.depends_on.${infra}`, 'missing or not service_healthy: the service connects at start-up');
  }
  const gateway = doc.services.gateway;
  if (gateway) {
    for (const other of names.filter((n) => n !== 'gateway')) {
      if (!dependsOn(gateway, other, 'service_healthy'))
        report(
          `services.gateway.depends_on.${other}`,
          'missing or not service_healthy: the gateway turns on bucket notifications, whose topic the embedding service creates, and calls the others',
        );
    }
  }
  if (doc.services.retrieval && !dependsOn(doc.services.retrieval, 'qdrant', 'service_healthy'))
    report('services.retrieval.depends_on.qdrant', 'missing or not service_healthy');
  if (doc.services.embedding && !dependsOn(doc.services.embedding, 'triton', 'service_healthy'))
    report('services.embedding.depends_on.triton', 'missing or not service_healthy (required: false, for the triton profile)');
}

function checkEnvironment(doc, facts, scenario, report) {
  const tag = `[${scenario.name}]`;
  const shared = new Map();
  const clientIds = new Map();
  for (const [name, { schema, schemaName }] of Object.entries(facts.services)) {
    const s = doc.services[name];
    if (!s) continue;
    const env = serviceEnvironment(s, scenario.env);
    const at = `services.${name}.environment`;
    const known = new Set([...Object.keys(facts.CommonEnv.shape), ...Object.keys(schema.shape), ...facts.otelVariables]);
    for (const key of Object.keys(env)) {
      if (!known.has(key)) report(`${at}.${key}`, `${tag} not read by ${name}: not in CommonEnv, ${schemaName} or the OTEL_* variables of libs/telemetry`);
    }
    for (const [label, sch] of [
      ['CommonEnv', facts.CommonEnv],
      [schemaName, schema],
    ]) {
      const result = sch.safeParse(env);
      if (!result.success) {
        for (const issue of result.error.issues) report(`${at}.${issue.path.join('.') || '(env)'}`, `${tag} rejected by ${label}: ${issue.message}`);
      }
    }
    if (env.ADSEED_BUS !== 'kafka') report(`${at}.ADSEED_BUS`, `${tag} must be kafka: the in-memory bus only works inside one process`);
    if (env.ADSEED_STORE !== 'minio') report(`${at}.ADSEED_STORE`, `${tag} must be minio: containers do not share a file store`);
    const id = env.KAFKA_CLIENT_ID;
    if (id && clientIds.has(id)) report(`${at}.KAFKA_CLIENT_ID`, `${tag} "${id}" is also ${clientIds.get(id)}'s: give each service its own`);
    if (id) clientIds.set(id, name);
    // Everything the services share must be the same for all of them (one broker, one store, one set of buckets).
    for (const key of Object.keys(facts.CommonEnv.shape).filter((k) => k !== 'KAFKA_CLIENT_ID')) {
      if (!shared.has(key)) shared.set(key, { value: env[key], from: name });
      else if (shared.get(key).value !== env[key])
        report(`${at}.${key}`, `${tag} "${env[key] ?? '(unset)'}" differs from ${shared.get(key).from}'s "${shared.get(key).value ?? '(unset)'}"`);
    }
  }
}

function checkSecretsNotWritten(rawDoc, facts, report) {
  for (const name of Object.keys(facts.services)) {
    const env = rawDoc.services?.[name]?.environment ?? {};
    const entries = Array.isArray(env)
      ? env.map((l) => {
          const c = String(l).indexOf('=');
          return c < 0 ? [l, null] : [l.slice(0, c), l.slice(c + 1)];
        })
      : Object.entries(env);
    for (const [key, value] of entries) {
      if (!SECRET_VARIABLES.includes(key) || value === null) continue;
      if (!/^\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}$/.test(String(value)))
        report(`services.${name}.environment.${key}`, 'is a secret: leave the value empty (passed through from the shell) or write ${VAR} without a default');
    }
  }
}

function checkWiring(doc, facts, scenario, report) {
  const tag = `[${scenario.name}]`;
  const services = doc.services;
  const kafka = services.kafka;
  const kafkaEnv = kafka ? serviceEnvironment(kafka, scenario.env) : {};
  const advertised = (kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '')
    .split(',')
    .map((l) => /^([A-Z_]+):\/\/(.+)$/.exec(l.trim()))
    .filter(Boolean)
    .map((m) => ({ name: m[1], address: m[2] }));
  const internalBrokers = advertised.filter((l) => hostPort(l.address)?.host === 'kafka').map((l) => l.address);
  if (!internalBrokers.length)
    report('services.kafka.environment.KAFKA_ADVERTISED_LISTENERS', `${tag} no listener advertised as kafka:<port> for the containers`);

  const minio = services.minio;
  const minioEnv = minio ? serviceEnvironment(minio, scenario.env) : {};
  const minioCommand = Array.isArray(minio?.command) ? minio.command : String(minio?.command ?? '').split(/\s+/);
  const addressAt = minioCommand.indexOf('--address');
  const minioPort = addressAt >= 0 ? minioCommand[addressAt + 1].split(':').pop() : '9000';

  for (const name of Object.keys(facts.services)) {
    const s = services[name];
    if (!s) continue;
    const env = serviceEnvironment(s, scenario.env);
    const at = `services.${name}.environment`;
    for (const broker of (env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean)) {
      if (!internalBrokers.includes(broker))
        report(
          `${at}.KAFKA_BROKERS`,
          `${tag} ${broker} is not a listener the kafka service advertises to containers (${internalBrokers.join(', ') || 'none'})`,
        );
    }
    if (env.MINIO_ENDPOINT !== 'minio' || !minio) report(`${at}.MINIO_ENDPOINT`, `${tag} "${env.MINIO_ENDPOINT}" is not the minio service`);
    if ((env.MINIO_PORT ?? '9000') !== minioPort) report(`${at}.MINIO_PORT`, `${tag} ${env.MINIO_PORT} but MinIO listens on ${minioPort}`);
    if (env.MINIO_ACCESS_KEY !== minioEnv.MINIO_ROOT_USER || env.MINIO_SECRET_KEY !== minioEnv.MINIO_ROOT_PASSWORD)
      report(`${at}.MINIO_ACCESS_KEY`, `${tag} access/secret keys must be the minio service's MINIO_ROOT_USER/MINIO_ROOT_PASSWORD`);
  }

  const retrieval = services.retrieval && serviceEnvironment(services.retrieval, scenario.env);
  if (retrieval) {
    let url;
    try {
      url = new URL(retrieval.QDRANT_URL ?? '');
    } catch {
      url = undefined;
    }
    if (!url || url.hostname !== 'qdrant' || !services.qdrant || (url.port || '80') !== '6333')
      report('services.retrieval.environment.QDRANT_URL', `${tag} "${retrieval.QDRANT_URL}" is not the qdrant service's REST port (http://qdrant:6333)`);
  }
  const embedding = services.embedding && serviceEnvironment(services.embedding, scenario.env);
  if (embedding) {
    const triton = services.triton;
    const grpcArg = (triton?.command ?? []).find?.((a) => String(a).startsWith('--grpc-port='));
    const grpcPort = grpcArg ? grpcArg.split('=')[1] : '8001';
    for (const endpoint of (embedding.TRITON_ENDPOINTS ?? '').split(',').filter(Boolean)) {
      const hp = hostPort(endpoint);
      if (!triton || hp?.host !== 'triton' || hp.port !== grpcPort)
        report('services.embedding.environment.TRITON_ENDPOINTS', `${tag} "${endpoint}" is not the triton service's gRPC port (triton:${grpcPort})`);
    }
    if (embedding.ADSEED_ENCODER === 'triton' && !(triton && (triton.profiles ?? []).every((p) => scenario.profiles.includes(p)))) {
      report('services.triton', `${tag} ADSEED_ENCODER=triton but no triton service runs with profiles [${scenario.profiles.join(', ')}]`);
    }
  }

  const gateway = services.gateway && serviceEnvironment(services.gateway, scenario.env);
  if (gateway) {
    const arn = /^arn:minio:sqs::([A-Za-z0-9_]+):kafka$/.exec(gateway.ADSEED_STORAGE_NOTIFY_ARN ?? '');
    if (!arn)
      report('services.gateway.environment.ADSEED_STORAGE_NOTIFY_ARN', `${tag} must be arn:minio:sqs::<ID>:kafka so that uploads reach the embedding service`);
    else {
      const id = arn[1];
      const at = 'services.minio.environment';
      if (!['on', 'true'].includes(minioEnv[`MINIO_NOTIFY_KAFKA_ENABLE_${id}`]))
        report(`${at}.MINIO_NOTIFY_KAFKA_ENABLE_${id}`, `${tag} must be on: the gateway's ARN names target ${id}`);
      for (const broker of (minioEnv[`MINIO_NOTIFY_KAFKA_BROKERS_${id}`] ?? '').split(',').filter(Boolean)) {
        if (!internalBrokers.includes(broker))
          report(`${at}.MINIO_NOTIFY_KAFKA_BROKERS_${id}`, `${tag} ${broker} is not an advertised container listener of kafka`);
      }
      if (!minioEnv[`MINIO_NOTIFY_KAFKA_BROKERS_${id}`]) report(`${at}.MINIO_NOTIFY_KAFKA_BROKERS_${id}`, `${tag} missing`);
      const topic = minioEnv[`MINIO_NOTIFY_KAFKA_TOPIC_${id}`];
      if (topic !== facts.objectEventsTopic)
        report(
          `${at}.MINIO_NOTIFY_KAFKA_TOPIC_${id}`,
          `${tag} "${topic}" is not the topic the embedding service consumes (${facts.objectEventsTopic}, libs/contracts StorageTopics.objectEvents)`,
        );
    }
  }

  // Host ports: the numbers and override variables of scripts/infra/*.sh, on 127.0.0.1.
  const expectPort = (service, target, variable, fallback) => {
    const s = services[service];
    if (!s) return;
    const want = scenario.env[variable] ?? fallback;
    const p = publishedPorts(s).find((x) => x.target === target);
    if (!p) report(`services.${service}.ports`, `${tag} container port ${target} is not published (scripts/infra uses 127.0.0.1:${want}, ${variable})`);
    else {
      if (p.published !== want)
        report(`services.${service}.ports`, `${tag} ${target} published on ${p.published || '(random)'}, scripts/infra uses ${want} (${variable})`);
      if (p.hostIp !== '127.0.0.1')
        report(`services.${service}.ports`, `${tag} ${target} bound to "${p.hostIp || 'all interfaces'}": bind infrastructure to 127.0.0.1 like scripts/infra`);
    }
  };
  const hostListener = advertised.find((l) => hostPort(l.address)?.host === '127.0.0.1');
  const kafkaHostPort = scenario.env.ADSEED_KAFKA_PORT ?? facts.kafka.port;
  if (!hostListener || hostPort(hostListener.address).port !== kafkaHostPort) {
    report(
      'services.kafka.environment.KAFKA_ADVERTISED_LISTENERS',
      `${tag} needs a listener advertised as 127.0.0.1:${kafkaHostPort} for clients on the host (ADSEED_KAFKA_PORT)`,
    );
  } else {
    const bound = (kafkaEnv.KAFKA_LISTENERS ?? '')
      .split(',')
      .map((l) => /^([A-Z_]+):\/\/[^:]*:(\d+)$/.exec(l.trim()))
      .find((m) => m?.[1] === hostListener.name);
    if (!bound) report('services.kafka.environment.KAFKA_LISTENERS', `${tag} listener ${hostListener.name} is advertised but not bound`);
    else expectPort('kafka', bound[2], 'ADSEED_KAFKA_PORT', facts.kafka.port);
  }
  expectPort('minio', minioPort, 'ADSEED_MINIO_PORT', facts.minio.port);
  const consoleAt = minioCommand.indexOf('--console-address');
  expectPort('minio', consoleAt >= 0 ? minioCommand[consoleAt + 1].split(':').pop() : '9001', 'ADSEED_MINIO_CONSOLE_PORT', facts.minio.consolePort);
  expectPort('qdrant', '6333', 'ADSEED_QDRANT_PORT', facts.qdrant.port);
  const tritonArg = (flag, fallback) => ((services.triton?.command ?? []).find?.((a) => String(a).startsWith(`${flag}=`)) ?? `=${fallback}`).split('=')[1];
  expectPort('triton', tritonArg('--grpc-port', '8001'), 'ADSEED_KSERVE_GRPC_PORT', facts.kserve.grpcPort);
  expectPort('triton', tritonArg('--http-port', '8000'), 'ADSEED_KSERVE_HTTP_PORT', facts.kserve.httpPort);
  expectPort('triton', tritonArg('--metrics-port', '8002'), 'ADSEED_KSERVE_METRICS_PORT', facts.kserve.metricsPort);
}

function checkInfra(doc, facts, composeDir, report) {
  const services = doc.services;
  // Kafka: the version and the broker settings of scripts/infra/kafka.sh.
  const kafka = services.kafka;
  if (!kafka) report('services.kafka', 'missing');
  else {
    const { repository, tag } = imageParts(kafka.image);
    if (repository !== 'apache/kafka' || tag !== facts.kafka.version)
      report('services.kafka.image', `"${kafka.image}": scripts/infra/kafka.sh runs Kafka ${facts.kafka.version}; use apache/kafka:${facts.kafka.version}`);
    if (!/^3\.9\./.test(tag ?? '')) report('services.kafka.image', 'stay on Kafka 3.9.x: kafkajs 2.2.4 is untested against Kafka 4');
    const env = serviceEnvironment(kafka, {});
    const properties = {};
    for (const [key, value] of Object.entries(env)) {
      if (!key.startsWith('KAFKA_') || KAFKA_NON_PROPERTY_VARIABLES.test(key)) continue;
      // NUL is a placeholder no variable name can contain
      const name = key.slice(6).toLowerCase().replace(/___/g, '-').replace(/__/g, '\u0000').replace(/_/g, '.');
      // eslint-disable-next-line no-control-regex -- the placeholder above
      properties[name.replace(/\u0000/g, '_')] = value;
    }
    for (const [property, want] of Object.entries(facts.kafka.properties)) {
      if (KAFKA_SITE_PROPERTIES.includes(property)) continue;
      const variable = `KAFKA_${property.toUpperCase().replace(/\./g, '_')}`;
      if (properties[property] !== want)
        report(`services.kafka.environment.${variable}`, `is "${properties[property] ?? '(unset)'}", scripts/infra/kafka.sh sets ${property}=${want}`);
    }
    if (!String(env.KAFKA_HEAP_OPTS ?? '').includes(`-Xmx${facts.kafka.heap}`))
      report('services.kafka.environment.KAFKA_HEAP_OPTS', `should cap the heap like kafka.sh (-Xmx${facts.kafka.heap})`);
    let id;
    try {
      id = Buffer.from(env.CLUSTER_ID ?? '', 'base64url');
    } catch {
      id = Buffer.alloc(0);
    }
    if (id.length !== 16 || (env.CLUSTER_ID ?? '').length !== 22)
      report('services.kafka.environment.CLUSTER_ID', 'must be a 22-character base64url id of 16 bytes (the image formats storage with it)');
    const logDirs = properties['log.dirs'];
    if (!logDirs || !mounts(kafka).some((m) => m.target === logDirs && m.source))
      report('services.kafka.environment.KAFKA_LOG_DIRS', `"${logDirs ?? '(unset)'}" is not on a volume: topics would vanish with the container`);
  }

  // MinIO: the release and default credentials of scripts/infra/minio.sh.
  const minio = services.minio;
  if (!minio) report('services.minio', 'missing');
  else {
    const { repository, tag } = imageParts(minio.image);
    if (!/(^|\/)minio\/minio$/.test(repository) || tag !== facts.minio.release)
      report('services.minio.image', `"${minio.image}": scripts/infra/minio.sh runs ${facts.minio.release}`);
    const env = serviceEnvironment(minio, {});
    if (env.MINIO_ROOT_USER !== facts.minio.rootUser || env.MINIO_ROOT_PASSWORD !== facts.minio.rootPassword)
      report(
        'services.minio.environment.MINIO_ROOT_USER',
        `default credentials differ from scripts/infra/minio.sh (${facts.minio.rootUser} / ...), which the integration tests assume`,
      );
    const topics = Object.entries(env)
      .filter(([k]) => k.startsWith('MINIO_NOTIFY_KAFKA_TOPIC_'))
      .map(([, v]) => v);
    if (!topics.includes(facts.minio.topic))
      report('services.minio.environment', `no Kafka notification target on ${facts.minio.topic} (scripts/infra/minio.sh's topic)`);
    if (!mounts(minio).some((m) => m.source && (minio.command ?? []).includes(m.target)))
      report('services.minio.volumes', 'the data directory MinIO serves is not on a volume');
  }

  // Qdrant: a version the client accepts (same major, minor at most one apart) and the shim imitates.
  const qdrant = services.qdrant;
  if (!qdrant) report('services.qdrant', 'missing');
  else {
    const { repository, tag } = imageParts(qdrant.image);
    const server = /^v(\d+)\.(\d+)\.(\d+)$/.exec(tag ?? '');
    const [cMajor, cMinor] = facts.qdrant.clientVersion.split('.').map(Number);
    if (repository !== 'qdrant/qdrant' || !server) report('services.qdrant.image', `"${qdrant.image}": use qdrant/qdrant:v<major>.<minor>.<patch>`);
    else if (Number(server[1]) !== cMajor || Math.abs(Number(server[2]) - cMinor) > 1)
      report('services.qdrant.image', `${tag} is outside what @qdrant/js-client-rest ${facts.qdrant.clientVersion} supports (same major, minor +-1)`);
    else if (facts.qdrant.shimVersion && facts.qdrant.shimVersion.split('.').slice(0, 2).join('.') !== `${server[1]}.${server[2]}`)
      report('services.qdrant.image', `${tag}, but the integration-test shim answers as ${facts.qdrant.shimVersion}`);
    if (!mounts(qdrant).some((m) => m.target === '/qdrant/storage' && m.source))
      report('services.qdrant.volumes', '/qdrant/storage is not on a volume: the index would vanish with the container');
  }

  // Triton: the chart's image, deploy/triton's model repository, a GPU for KIND_GPU models.
  const triton = services.triton;
  if (!triton) report('services.triton', 'missing');
  else {
    const t = facts.chart.triton.image;
    if (triton.image !== `${t.repository}:${t.tag}`) report('services.triton.image', `"${triton.image}": the chart runs ${t.repository}:${t.tag}`);
    const repoArg = (triton.command ?? []).find?.((a) => String(a).startsWith('--model-repository='));
    const repoPath = repoArg?.split('=')[1];
    const mount = mounts(triton).find((m) => m.target === repoPath);
    const wantSource = path.join(facts.repo, 'deploy', 'triton', 'model_repository');
    if (!repoPath || !mount || path.resolve(composeDir, mount.source) !== wantSource)
      report('services.triton.volumes', `--model-repository must be a mount of deploy/triton/model_repository (${path.relative(composeDir, wantSource)})`);
    else if (!mount.readOnly) report('services.triton.volumes', 'mount the model repository read-only');
    const schemaDefaults = facts.services.embedding?.schema.parse({}) ?? {};
    for (const model of [schemaDefaults.TRITON_CLIP_IMAGE_MODEL, schemaDefaults.TRITON_CLIP_TEXT_MODEL].filter(Boolean)) {
      if (!facts.triton.models.includes(model))
        report('services.triton', `the embedding service asks for model ${model}, not in deploy/triton/model_repository (${facts.triton.models.join(', ')})`);
    }
    const devices = triton.deploy?.resources?.reservations?.devices ?? [];
    const gpu = devices.some((d) => (d.capabilities ?? []).includes('gpu') && (d.driver ?? 'nvidia') === 'nvidia');
    if (facts.triton.needsGpu && !gpu)
      report('services.triton.deploy.resources.reservations.devices', 'deploy/triton configs use KIND_GPU: reserve an nvidia GPU');
    if (gpu && !(triton.profiles ?? []).length)
      report('services.triton.profiles', 'a GPU-only service in the default set breaks `docker compose up` on machines without one: put it in a profile');
  }

  // Embedding models: the folders `npm run models:fetch` fills, mounted read-only.
  const embedding = services.embedding;
  if (embedding && facts.services.embedding) {
    const env = serviceEnvironment(embedding, {});
    const defaults = facts.services.embedding.schema.parse({});
    const chart = facts.chart.embedding;
    for (const [key, chartSubdir] of [
      ['ADSEED_CLIP_MODEL_DIR', chart.clipModelSubdir],
      ['ADSEED_CAPTION_MODEL_DIR', chart.captionModelSubdir],
    ]) {
      const at = `services.embedding.environment.${key}`;
      const dir = env[key] ?? '';
      const mount = mounts(embedding).find((m) => m.source && dir.startsWith(`${m.target}/`));
      const defaultDir = path.resolve(facts.repo, defaults[key]);
      if (!mount) {
        report(at, `"${dir}" is not inside a mounted volume`);
        continue;
      }
      if (!mount.readOnly) report('services.embedding.volumes', `${mount.target}: mount the models read-only`);
      if (path.resolve(composeDir, mount.source, path.relative(mount.target, dir)) !== defaultDir)
        report(
          at,
          `by default must be ${path.relative(facts.repo, defaultDir)} of the checkout (where npm run models:fetch puts it), mounted at ${mount.target}`,
        );
      if (path.basename(dir) !== chartSubdir) report(at, `folder "${path.basename(dir)}" differs from the chart's ${chartSubdir}`);
    }
  }

  // Buckets: the chart's names.
  const buckets = facts.chart.buckets;
  const want = { ADSEED_BUCKET_SEEDS: buckets.seeds, ADSEED_BUCKET_BRANDS: buckets.brands, ADSEED_BUCKET_ADS: buckets.ads, ADSEED_BUCKET_STATE: buckets.state };
  for (const name of Object.keys(facts.services)) {
    const env = services[name] ? serviceEnvironment(services[name], {}) : {};
    for (const [key, value] of Object.entries(want)) {
      if (key in env && env[key] !== value) report(`services.${name}.environment.${key}`, `"${env[key]}" differs from the chart's bucket ${value}`);
    }
  }
}

module.exports = { COMPOSE_FILE, SCENARIOS, parseCompose, interpolate, resolveCompose, serviceEnvironment, loadRepoFacts, checkCompose };

if (require.main === module) {
  const file = path.resolve(process.argv[2] ?? COMPOSE_FILE);
  const problems = checkCompose(parseCompose(fs.readFileSync(file, 'utf8')), loadRepoFacts(), { composeDir: path.dirname(file) });
  for (const p of problems) process.stderr.write(`${p.where}: ${p.problem}\n`);
  process.stdout.write(
    problems.length
      ? `compose-check: ${problems.length} problem(s) in ${path.relative(process.cwd(), file)}\n`
      : `compose-check: ${path.relative(process.cwd(), file)} agrees with the code (${SCENARIOS.length} scenarios)\n`,
  );
  process.exit(problems.length ? 1 : 0);
}
