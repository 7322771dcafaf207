'use strict';
// Checks the container recipes against the repository, without a Docker daemon:
//   - every COPY/ADD source taken from the build context exists and is not dropped by .dockerignore;
//   - every npm workspace has its package.json copied before `npm ci` (otherwise the lockfile and
//     the tree disagree and the install fails);
//   - after `npm run build`, each service's CMD target exists;
//   - each image installs its service's production dependency closure only (npm ci --omit=dev
//     --workspace), and every package the shipped code loads is declared by its own workspace and
//     is in that closure (computed from package-lock.json);
//   - docker/assemble.sh, run against the host build, lays out exactly the service and the libs of
//     its closure, without specs, benches, tools, test helpers or fakes;
//   - the generation image's own font draws a headline: the assembled tree renders an ad with
//     fontconfig pointed at that tree's font folder only, and fails without the folder;
//   - the container helpers behave: docker/healthcheck.js and docker/model-init.sh.
// Run: node --test scripts/chart/dockerfile-sources.test.js   (after `npm run build`)
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const { builtinModules } = require('node:module');

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
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
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

/** package-lock.json `packages`: paths (`libs/x`, `node_modules/a/node_modules/b`) to entries. */
const LOCK = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8')).packages;

/** The lockfile path node's resolution finds for `name` required from the package at `from`. */
function resolveInLock(from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (LOCK[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i >= 0 ? base.slice(0, i) : '';
  }
}

/**
 * What `npm ci --omit=dev --workspace <workspace>` installs, from the lockfile: the workspace, its
 * dependencies (optional ones when locked, non-optional peers) and theirs, workspaces followed
 * through their links, less what the lockfile marks dev. Lockfile paths; workspaces as their
 * folder. For the gateway this is what npm ci installed in a scratch clone, package for package
 * (less the two optional packages for other platforms, @img/sharp-wasm32 and @emnapi/runtime).
 */
function lockClosure(workspace) {
  const seen = new Set();
  const queue = [workspace];
  while (queue.length) {
    let at = queue.pop();
    if (LOCK[at]?.link) at = LOCK[at].resolved;
    if (seen.has(at)) continue;
    const entry = LOCK[at];
    assert.ok(entry, `${at} is not in package-lock.json`);
    // --omit=dev leaves out what the lockfile marks dev-only (a peer such as @qdrant/js-client-rest's
    // typescript, met by the root's dev tooling, among them).
    if (entry.dev) continue;
    seen.add(at);
    const optional = entry.optionalDependencies ?? {};
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional);
    for (const name of new Set([...Object.keys(entry.dependencies ?? {}), ...Object.keys(optional), ...peers])) {
      const found = resolveInLock(at, name);
      if (found) queue.push(found);
      else assert.ok(name in optional, `${at} depends on ${name}, which package-lock.json does not hold: npm install`);
    }
  }
  return seen;
}

const packageName = (lockPath) => lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
const closureWorkspaces = (closure) => [...closure].filter((p) => !p.includes('node_modules/')).sort();
const closurePackages = (closure) => new Set([...closure].filter((p) => p.includes('node_modules/')).map(packageName));

/** Bare module names a compiled file loads: require(), require.resolve(), createRequire(...)(). */
function requiredPackages(jsFile) {
  const text = fs.readFileSync(jsFile, 'utf8');
  const names = new Set();
  const calls = [
    ...text.matchAll(/\brequire(?:\.resolve)?\s*\(\s*["']([^"'./][^"']*)["']\s*\)/g),
    ...text.matchAll(/\bcreateRequire\)?\s*\([^()]*\)\s*\(\s*["']([^"'./][^"']*)["']\s*\)/g),
  ];
  for (const m of calls) {
    const spec = m[1];
    if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
  }
  return names;
}

/** Files under `dir`, relative, skipping node_modules. */
function filesUnder(dir, rel = '') {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.name === 'node_modules') continue;
    if (entry.isDirectory()) out.push(...filesUnder(dir, child));
    else out.push(child);
  }
  return out;
}

/** Compiled test code that src/ emits beside the product (specs, contract suites, kits, e2e). */
const COMPILED_TEST_CODE = /(\.spec\.|\.contract\.|\.test-kit\.|\/e2e\/|\/integration\/)/;
/** What must never be in an image: test code, and the benches, tools and helpers kept beside src. */
const NOT_SHIPPED =
  /(\.spec\.|\.contract\.|\.test-kit\.|\.bench\.|\.example\.|\.child\.|replicate-fake|make-clip-models|make-flagged-fixture|(^|\/)(bench|tools|test|testing|e2e|integration|fixtures)\/|\.tsbuildinfo$)/;

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

  it('keeps benches, tools, test helpers and fixtures out of the context', () => {
    for (const p of [
      'services/generation/bench/local-ad.generator.bench.ts',
      'services/embedding/tools/fetch-models.ts',
      'libs/messaging/test/journal-crash.child.ts',
      'libs/guardrails/fixtures',
      'services/retrieval/src/vector-index/fixtures/format-2/wal.log',
    ]) {
      assert.ok(isIgnored(p), `.dockerignore should exclude ${p}`);
    }
  });
});

describe('each image: its service, its libs and their production dependencies, nothing else', () => {
  const script = instructions('docker/Dockerfile').join('\n');
  const manifests = workspaces().map((ws) => ({ ws, pkg: JSON.parse(fs.readFileSync(path.join(repo, ws, 'package.json'), 'utf8')) }));
  const byName = new Map(manifests.map(({ ws, pkg }) => [pkg.name, ws]));
  let scratch;
  const assembled = new Map();

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'adseed-assemble-'));
    for (const service of SERVICES) {
      // The install root npm ci --omit=dev --workspace leaves: node_modules/@adseed/<name> linked
      // for each workspace of the lockfile closure, as npm links them (../../<dir>).
      const install = path.join(scratch, `install-${service}`);
      fs.mkdirSync(path.join(install, 'node_modules', '@adseed'), { recursive: true });
      for (const ws of closureWorkspaces(lockClosure(`services/${service}`))) {
        const name = JSON.parse(fs.readFileSync(path.join(repo, ws, 'package.json'), 'utf8')).name;
        fs.symlinkSync(`../../${ws}`, path.join(install, 'node_modules', name));
      }
      const out = path.join(scratch, `out-${service}`);
      const run = spawnSync('sh', [path.join(repo, 'docker/assemble.sh'), service, repo, install, out], { encoding: 'utf8' });
      assert.equal(run.status, 0, `assemble.sh ${service}: ${run.stderr}`);
      assembled.set(service, out);
    }
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("installs one service's production closure, without scripts, and assembles with docker/assemble.sh", () => {
    assert.match(script, /npm ci --omit=dev --workspace "services\/\$\{SERVICE\}" --include-workspace-root=false --ignore-scripts/);
    assert.match(script, /COPY --from=service-deps \/app\/ \/install\//);
    assert.match(script, /cp -a \/install\/package\.json \/install\/node_modules \/out\//);
    assert.match(script, /sh \/usr\/local\/bin\/adseed-assemble "\$\{SERVICE\}" \/app \/install \/out/);
    assert.doesNotMatch(script, /npm prune/, 'the runtime node_modules come from the per-service install, not from pruning the build tree');
  });

  it('declares, in each workspace, every package its shipped code loads', () => {
    const problems = [];
    for (const { ws, pkg } of manifests) {
      const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {})]);
      const dist = path.join(repo, ws, 'dist');
      if (!fs.existsSync(dist)) continue;
      for (const file of filesUnder(dist).filter((f) => f.endsWith('.js') && !COMPILED_TEST_CODE.test(`/${f}`))) {
        for (const name of requiredPackages(path.join(dist, file))) if (!declared.has(name)) problems.push(`${ws}/dist/${file} loads ${name}`);
      }
    }
    assert.deepEqual(problems, [], `not in the workspace's package.json dependencies:\n  ${problems.join('\n  ')}`);
  });

  it("keeps dev tooling and the other services' heavy packages out of each closure", () => {
    const closures = Object.fromEntries(SERVICES.map((s) => [s, closurePackages(lockClosure(`services/${s}`))]));
    const tooling = [
      'typescript',
      'eslint',
      'typescript-eslint',
      'eslint-plugin-boundaries',
      'c8',
      '@nestjs/testing',
      'playwright-core',
      '@fontsource/lobster',
    ];
    for (const service of SERVICES) {
      // Only where a package of the closure declares it a required peer, which npm installs: the
      // retrieval image gets typescript (~23 MB) for @qdrant/js-client-rest's `typescript` peer.
      const closure = lockClosure(`services/${service}`);
      const asPeer = new Set(
        [...closure].flatMap((p) => Object.keys(LOCK[p].peerDependencies ?? {}).filter((n) => !LOCK[p].peerDependenciesMeta?.[n]?.optional)),
      );
      const asDependency = new Set([...closure].flatMap((p) => Object.keys({ ...LOCK[p].dependencies, ...LOCK[p].optionalDependencies })));
      const installed = tooling.filter((p) => closures[service].has(p));
      assert.deepEqual(
        installed.filter((p) => asDependency.has(p) || !asPeer.has(p)),
        [],
        `${service} installs dev tooling`,
      );
    }
    // Each of these belongs to the code of the services named (onnxruntime-node: the encoders, and
    // the gateway's image guardrail on its onnx runtime).
    for (const [pkg, owners] of [
      ['onnxruntime-node', ['gateway', 'embedding']],
      ['replicate', ['generation']],
      ['@qdrant/js-client-rest', ['retrieval']],
      ['nsfwjs', ['gateway']],
      ['swagger-ui-dist', ['gateway']],
    ]) {
      assert.deepEqual(
        SERVICES.filter((s) => closures[s].has(pkg)),
        owners,
        pkg,
      );
    }
  });

  for (const service of SERVICES) {
    it(`${service}: the assembled tree holds the closure's workspaces, no test code, bench, tool or fake, and only packages of the closure are loaded`, () => {
      const out = assembled.get(service);
      const closure = lockClosure(`services/${service}`);
      const expected = closureWorkspaces(closure);
      const present = ['libs', 'services']
        .flatMap((dir) => (fs.existsSync(path.join(out, dir)) ? fs.readdirSync(path.join(out, dir)).map((n) => `${dir}/${n}`) : []))
        .sort();
      assert.deepEqual(present, expected);
      assert.ok(!expected.includes('libs/testing'), 'libs/testing is test code');
      assert.ok(fs.existsSync(path.join(out, 'services', service, 'dist', 'main.js')));
      assert.ok(fs.existsSync(path.join(out, 'proto')));
      const files = filesUnder(out);
      const shipped = files.filter((f) => NOT_SHIPPED.test(f));
      assert.deepEqual(shipped, [], `${service} image would ship:\n  ${shipped.join('\n  ')}`);
      const packages = closurePackages(closure);
      const outside = [];
      for (const f of files.filter((x) => x.endsWith('.js'))) {
        for (const name of requiredPackages(path.join(out, f))) if (!packages.has(name) && !byName.has(name)) outside.push(`${f}: ${name}`);
      }
      assert.deepEqual(outside, [], `loaded but not installed in the ${service} image`);
    });
  }

  it('gives the gateway its web UI and the generator its font folder', () => {
    assert.ok(fs.existsSync(path.join(assembled.get('gateway'), 'services/gateway/public/index.html')));
    const fonts = path.join(assembled.get('generation'), 'services/generation/assets/fonts');
    assert.deepEqual(
      fs.readdirSync(fonts).filter((f) => /\.(ttf|otf|woff2?)$/i.test(f)),
      ['DejaVuSans-Bold.ttf'],
    );
    for (const s of SERVICES.filter((x) => x !== 'generation')) assert.equal(fs.existsSync(path.join(assembled.get(s), 'services', s, 'assets')), false);
  });

  describe('the generation image draws a headline with its own font', () => {
    /**
     * Renders two ads in a child process from the assembled generation tree, its packages linked in
     * like the image's node_modules, fontconfig given a configuration that lists that tree's font
     * folder only (no system fonts). Prints, per headline, the bright pixels in the headline band
     * (white text on the dark band over a black photo) and a hash of the band's pixels.
     */
    function renderHeadlines(tree) {
      const nodeModules = path.join(tree, 'node_modules');
      fs.rmSync(nodeModules, { recursive: true, force: true });
      fs.mkdirSync(path.join(nodeModules, '@adseed'), { recursive: true });
      for (const entry of fs.readdirSync(path.join(repo, 'node_modules'))) {
        if (entry === '@adseed' || entry.startsWith('.')) continue;
        fs.symlinkSync(path.join(repo, 'node_modules', entry), path.join(nodeModules, entry));
      }
      for (const ws of ['libs', 'services'].flatMap((d) =>
        fs.existsSync(path.join(tree, d)) ? fs.readdirSync(path.join(tree, d)).map((n) => `${d}/${n}`) : [],
      )) {
        const name = JSON.parse(fs.readFileSync(path.join(tree, ws, 'package.json'), 'utf8')).name;
        fs.symlinkSync(path.join(tree, ws), path.join(nodeModules, name));
      }
      const fontsConf = path.join(tree, 'fonts.conf');
      fs.writeFileSync(
        fontsConf,
        `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>${path.join(tree, 'services/generation/assets/fonts')}</dir><cachedir>${path.join(tree, '.fontconfig-cache')}</cachedir></fontconfig>\n`,
      );
      const child = `
        const { createHash } = require('node:crypto');
        const sharp = require('sharp');
        const { LocalAdGenerator } = require('./services/generation/dist/generators/local-ad.generator');
        (async () => {
          const seed = await sharp({ create: { width: 1080, height: 1080, channels: 3, background: '#000000' } }).jpeg().toBuffer();
          const brand = await sharp(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="#fff"/><rect x="100" y="80" width="200" height="240" fill="#1e50c8"/></svg>')).png().toBuffer();
          const out = [];
          for (const headline of ['Fresh salmon for happy cats', 'Walk more, worry less']) {
            const { ad, layout } = await new LocalAdGenerator().render({ seed, brand, headline });
            const box = layout.headline;
            const { data, info } = await sharp(ad.png).extract(box).removeAlpha().raw().toBuffer({ resolveWithObject: true });
            let bright = 0;
            for (let i = 0; i < data.length; i += info.channels) if (data[i] > 200 && data[i + 1] > 200 && data[i + 2] > 200) bright++;
            out.push({ headline, box, bright, area: box.width * box.height, hash: createHash('sha256').update(data).digest('hex') });
          }
          process.stdout.write(JSON.stringify(out));
        })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
      return spawnSync(process.execPath, ['-e', child], {
        cwd: tree,
        env: { PATH: process.env.PATH, HOME: tree, FONTCONFIG_FILE: fontsConf, FONTCONFIG_PATH: tree, XDG_CACHE_HOME: path.join(tree, '.cache') },
        encoding: 'utf8',
        timeout: 120_000,
      });
    }

    it('draws glyphs in the headline band, different ones for a different headline', () => {
      const run = renderHeadlines(assembled.get('generation'));
      assert.equal(run.status, 0, run.stderr);
      const [a, b] = JSON.parse(run.stdout);
      for (const r of [a, b]) {
        assert.ok(r.box.width > 0 && r.box.height > 0, JSON.stringify(r));
        // Glyph strokes are white on the dark band: a few percent of the band, never none.
        assert.ok(r.bright > r.area * 0.005, `${r.headline}: ${r.bright} bright pixels of ${r.area}`);
      }
      assert.notEqual(a.hash, b.hash, 'two headlines drew the same pixels');
    });

    it('fails without the font folder the image copies (the text comes from that file, not from the system)', () => {
      const tree = path.join(scratch, 'generation-without-assets');
      fs.cpSync(assembled.get('generation'), tree, { recursive: true, verbatimSymlinks: true });
      fs.rmSync(path.join(tree, 'node_modules'), { recursive: true, force: true });
      fs.rmSync(path.join(tree, 'services/generation/assets'), { recursive: true, force: true });
      fs.mkdirSync(path.join(tree, 'services/generation/assets/fonts'), { recursive: true });
      const run = renderHeadlines(tree);
      assert.notEqual(run.status, 0, 'rendered a headline without the font file');
      assert.match(run.stderr, /DejaVuSans-Bold\.ttf/);
    });
  });
});

describe('engines.node', () => {
  const semver = require('semver');
  // Every minor release from 18.0 to 26.25: ranges are compared on these versions.
  const GRID = [];
  for (let major = 18; major <= 26; major++) for (let minor = 0; minor <= 25; minor++) GRID.push(`${major}.${minor}.0`);
  /** Versions every package with an engines.node range among `lockPaths` accepts, from `floor` up. */
  const accepted = (lockPaths, floor) => {
    const ranges = [...lockPaths].filter((p) => LOCK[p].engines?.node && !LOCK[p].os && !LOCK[p].cpu).map((p) => LOCK[p].engines.node);
    return GRID.filter((v) => semver.gte(v, floor) && ranges.every((r) => semver.satisfies(v, r)));
  };
  const ours = (range) => GRID.filter((v) => semver.satisfies(v, range));
  // The code is typed against Node 20 (@types/node ^20): nothing older is claimed. The repository's
  // own tooling needs 20.11 (import.meta.dirname in eslint.config.mjs, node --test-timeout).
  const CODE_FLOOR = '20.0.0';
  const TOOLING_FLOOR = '20.11.0';

  for (const ws of workspaces()) {
    it(`${ws}: exactly the versions its code and its production closure run on`, () => {
      const { engines } = JSON.parse(fs.readFileSync(path.join(repo, ws, 'package.json'), 'utf8'));
      assert.ok(engines?.node, `${ws}/package.json has no engines.node`);
      assert.deepEqual(ours(engines.node), accepted(lockClosure(ws), CODE_FLOOR), `${ws}: engines.node ${engines.node}`);
    });
  }

  it('the root: exactly the versions every locked package (dev tooling too) and the tooling run on', () => {
    const { engines } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    assert.deepEqual(
      ours(engines.node),
      accepted(
        Object.keys(LOCK).filter((p) => p.includes('node_modules/')),
        TOOLING_FLOOR,
      ),
    );
  });

  it("the image's Node satisfies every workspace", () => {
    const image = /ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)/.exec(fs.readFileSync(path.join(repo, 'docker/Dockerfile'), 'utf8'));
    assert.ok(image, 'docker/Dockerfile pins NODE_IMAGE=node:<x.y.z>');
    for (const ws of ['.', ...workspaces()]) {
      const { engines } = JSON.parse(fs.readFileSync(path.join(repo, ws, 'package.json'), 'utf8'));
      assert.ok(semver.satisfies(image[1], engines.node), `${ws}: ${image[1]} outside ${engines.node}`);
    }
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
    for (const [rel, body] of [
      ['src/clip/image.onnx', 'I'],
      ['src/clip/text.onnx', 'T'],
      ['src/caption/model.onnx', 'C'],
      ['cfg/clip_image.pbtxt', 'name: "clip_image"'],
      ['cfg/clip_text.pbtxt', 'name: "clip_text"'],
    ]) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), body);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args, env) =>
    spawnSync('sh', [script, ...args], {
      env: {
        PATH: process.env.PATH,
        MODEL_BAKED_DIR: path.join(dir, 'src'),
        TRITON_CONFIG_DIR: path.join(dir, 'cfg'),
        TRITON_MODELS: 'clip_image=clip/image.onnx clip_text=clip/text.onnx',
        ...env,
      },
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
