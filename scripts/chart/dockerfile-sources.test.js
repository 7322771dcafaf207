'use strict';
// Checks the container recipes against the repository, without a Docker daemon:
//   - every COPY/ADD source taken from the build context exists and is not dropped by .dockerignore;
//   - every npm workspace has its package.json copied before `npm ci` (otherwise the lockfile and
//     the tree disagree and the install fails);
//   - after `npm run build`, each service's CMD target exists;
//   - the container helpers behave: docker/healthcheck.js and docker/model-init.sh.
// Run: node --test scripts/chart/dockerfile-sources.test.js   (after `npm run build`)
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const repo = path.resolve(__dirname, '..', '..');
const SERVICES = ['gateway', 'agent', 'embedding', 'retrieval', 'generation'];
const DOCKERFILES = fs
  .readdirSync(path.join(repo, 'docker'))
  .filter((f) => f === 'Dockerfile' || f.endsWith('.Dockerfile'))
  .map((f) => path.join('docker', f));

/** Instructions of a Dockerfile with continuation lines joined and comments dropped. */
function instructions(file) {
  const lines = fs.readFileSync(path.join(repo, file), 'utf8').split('\n');
  const out = [];
  let current = '';
  for (const raw of lines) {
    if (/^\s*#/.test(raw)) continue;
    current += raw.replace(/\\\s*$/, ' ');
    if (!/\\\s*$/.test(raw)) {
      if (current.trim()) out.push(current.trim());
      current = '';
    }
  }
  return out;
}

/** Build-context sources of every COPY/ADD that does not copy from another stage. */
function contextSources(file) {
  const sources = [];
  for (const ins of instructions(file)) {
    const m = /^(COPY|ADD)\s+(.*)$/i.exec(ins);
    if (!m) continue;
    let args = m[2].trim();
    const flags = [];
    while (args.startsWith('--')) {
      const [flag, ...rest] = args.split(/\s+/);
      flags.push(flag);
      args = rest.join(' ');
    }
    if (flags.some((f) => f.startsWith('--from='))) continue;
    const parts = args.startsWith('[') ? JSON.parse(args) : args.split(/\s+/);
    sources.push(...parts.slice(0, -1).map((src) => ({ file, src })));
  }
  return sources;
}

/** .dockerignore semantics that our file uses: globs with * and **, `!` re-includes, last match wins. */
function dockerignore() {
  const text = fs.readFileSync(path.join(repo, '.dockerignore'), 'utf8');
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((seg) => (seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (rel) => {
    const segments = rel.replace(/\/+$/, '').split('/');
    let excluded = false;
    // A path is excluded when it or one of its parent directories matches.
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      for (const rule of rules) if (rule.re.test(prefix)) excluded = !rule.negate;
    }
    return excluded;
  };
}

function workspaces() {
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of pkg.workspaces) {
    assert.ok(pattern.endsWith('/*'), `workspace pattern ${pattern} is not <dir>/*: teach this test about it`);
    const parent = pattern.slice(0, -2);
    for (const name of fs.readdirSync(path.join(repo, parent))) {
      if (fs.existsSync(path.join(repo, parent, name, 'package.json'))) dirs.push(`${parent}/${name}`);
    }
  }
  return dirs.sort();
}

describe('Dockerfile build-context sources', () => {
  const isIgnored = dockerignore();

  it('finds the Dockerfiles and their COPY sources', () => {
    assert.ok(DOCKERFILES.includes('docker/Dockerfile'), 'docker/Dockerfile is missing');
    assert.ok(DOCKERFILES.includes('docker/model-init.Dockerfile'), 'docker/model-init.Dockerfile is missing');
    for (const f of DOCKERFILES) assert.ok(contextSources(f).length > 0, `${f} copies nothing from the context`);
  });

  for (const file of DOCKERFILES) {
    it(`${file}: every COPY source exists and survives .dockerignore`, () => {
      const problems = [];
      for (const { src } of contextSources(file)) {
        if (/[*?[]/.test(src)) problems.push(`${src}: globs are not checked by this test, name the path`);
        else if (!fs.existsSync(path.join(repo, src))) problems.push(`${src}: does not exist`);
        else if (isIgnored(src)) problems.push(`${src}: excluded by .dockerignore`);
      }
      assert.deepEqual(problems, [], `${file}:\n  ${problems.join('\n  ')}`);
    });
  }

  it('gives npm ci every workspace manifest', () => {
    // The manifests stage copies libs/ and services/ and picks <dir>/<name>/package.json out of them.
    const copied = new Set(contextSources('docker/Dockerfile').map(({ src }) => src.replace(/\/+$/, '')));
    const missing = workspaces().filter((ws) => !copied.has(path.dirname(ws)));
    assert.deepEqual(missing, [], `docker/Dockerfile's manifests stage does not copy the folders of: ${missing.join(', ')}`);
    const script = instructions('docker/Dockerfile').join('\n');
    assert.match(script, /find libs services -mindepth 2 -maxdepth 2 -name package\.json/);
  });

  it('keeps host build outputs and caches out of the context', () => {
    for (const p of ['node_modules', 'libs/config/node_modules', 'services/gateway/dist', '.cache', '.git', 'tsconfig.tsbuildinfo']) {
      assert.ok(isIgnored(p), `.dockerignore should exclude ${p}`);
    }
    assert.equal(isIgnored('services/gateway/src/main.ts'), false);
  });

  it('has a built entry point for each service (run `npm run build` first)', () => {
    const missing = SERVICES.map((s) => `services/${s}/dist/main.js`).filter((p) => !fs.existsSync(path.join(repo, p)));
    assert.deepEqual(missing, [], `not built: ${missing.join(', ')}`);
  });

  it("ships the compositor's default font: the file the built generator reads is in the context and copied into the image", () => {
    // The generator draws text from a font file (no system fonts in the slim image): DEFAULT_AD_FONT_FILE.
    const { DEFAULT_AD_FONT_FILE } = require(path.join(repo, 'services/generation/dist/generators/ad-font.js'));
    const rel = path.relative(repo, DEFAULT_AD_FONT_FILE).split(path.sep).join('/');
    assert.equal(rel, 'services/generation/assets/fonts/DejaVuSans-Bold.ttf');
    assert.ok(fs.existsSync(DEFAULT_AD_FONT_FILE), `${rel} is missing`);
    assert.equal(isIgnored(rel), false, `.dockerignore drops ${rel}`);
    const assemble = instructions('docker/Dockerfile').find((i) => i.startsWith('RUN') && i.includes('/out/services/${SERVICE}'));
    assert.ok(assemble, 'the assemble step');
    assert.match(assemble, /cp -a "services\/\$\{SERVICE\}\/assets" "\/out\/services\/\$\{SERVICE\}\/"/, 'the assemble step copies services/<service>/assets');
  });
});

describe('docker/healthcheck.js', () => {
  let server;
  let status = 200;
  before(async () => {
    server = http.createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => server.close());

  const probe = (port) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(repo, 'docker/healthcheck.js')], {
        env: { ...process.env, PORT: String(port), HEALTHCHECK_TIMEOUT_MS: '3000' },
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code));
    });

  it('exits 0 when /healthz answers 200', async () => {
    status = 200;
    assert.equal(await probe(server.address().port), 0);
  });
  it('exits 1 when /healthz answers an error', async () => {
    status = 503;
    assert.equal(await probe(server.address().port), 1);
  });
  it('exits 1 when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address();
    await new Promise((resolve) => closed.close(resolve));
    assert.equal(await probe(port), 1);
  });
});

describe('docker/model-init.sh', () => {
  const script = path.join(repo, 'docker/model-init.sh');
  let dir;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-init-'));
    for (const [rel, body] of [['src/clip/image.onnx', 'I'], ['src/clip/text.onnx', 'T'], ['src/caption/model.onnx', 'C'], ['cfg/clip_image.pbtxt', 'name: "clip_image"'], ['cfg/clip_text.pbtxt', 'name: "clip_text"']]) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), body);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args, env) =>
    spawnSync('sh', [script, ...args], {
      env: { PATH: process.env.PATH, MODEL_BAKED_DIR: path.join(dir, 'src'), TRITON_CONFIG_DIR: path.join(dir, 'cfg'), TRITON_MODELS: 'clip_image=clip/image.onnx clip_text=clip/text.onnx', ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });

  it('builds a Triton model repository from baked files', () => {
    const r = run(['triton', path.join(dir, 'repo')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'repo/clip_image/1/model.onnx'), 'utf8'), 'I');
    assert.equal(fs.readFileSync(path.join(dir, 'repo/clip_text/1/model.onnx'), 'utf8'), 'T');
    assert.match(fs.readFileSync(path.join(dir, 'repo/clip_text/config.pbtxt'), 'utf8'), /clip_text/);
  });
  it('copies the tree as it is for the embedding service', () => {
    const r = run(['onnx', path.join(dir, 'onnx')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'onnx/caption/model.onnx'), 'utf8'), 'C');
  });
  it('names the missing model file and the missing Triton config', () => {
    let r = run(['triton', path.join(dir, 'x')], { TRITON_MODELS: 'clip_image=clip/nope.onnx' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /clip\/nope\.onnx not found/);
    r = run(['triton', path.join(dir, 'x')], { TRITON_MODELS: 'clip_caption=caption/model.onnx' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /clip_caption\.pbtxt/);
  });
  it('refuses an empty baked directory and an incomplete bucket configuration', () => {
    let r = run(['onnx', path.join(dir, 'x')], { MODEL_BAKED_DIR: path.join(dir, 'cfg') });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no \.onnx files/);
    r = run(['onnx', path.join(dir, 'x')], { MODEL_SOURCE: 's3', S3_ENDPOINT: 'http://127.0.0.1:9' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /S3_BUCKET/);
  });
});
