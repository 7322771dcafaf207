#!/usr/bin/env node
import { existsSync, promises as fs } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { SingleBar, Presets } from 'cli-progress';
import { handleWhenResult, retry, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { parseManifest, type ManifestRow } from './manifest';

const USAGE = `usage:
  adseed start                         run the whole product in one process (same as npm start)
  adseed ingest <folder> [options]     upload every image in a folder through the gateway API
  adseed campaign --brand <pack.png|brands/…> --segments <segments.txt> [options]
                                       one job: every segment × format × variant, downloaded to --out
options:
  --manifest <csv>    columns file,caption,tags (;-separated),licence,attribution,expires,channels (;-separated);
                      any other column is a label that becomes a tag [default: <folder>/manifest.csv if present]
  --kind seed|brand   [default: seed]
  --url <gateway>     [default: $ADSEED_URL or http://127.0.0.1:8080]
  --tenant <id>       sent as X-Tenant-Id
  --api-key <key>     sent as Authorization: Bearer (or $ADSEED_API_KEY)
  --concurrency <n>   parallel uploads [default: 4]
campaign options:
  --formats <list>    1:1,4:5,9:16,1.91:1 [default: 1:1]
  --variants <n>      1-8 per segment and format [default: 1]
  --out <dir>         where ads and their provenance records go [default: ./ads]
  --headline <text>, --cta <text>
  --min-score <c>     relevance floor for the segment searches (cosine; default: the calibrated floor)
  (the same command run again continues the same job: its Idempotency-Key derives from the inputs)`;

const IMAGE = /\.(jpe?g|png|webp)$/i;

/**
 * Fails at once, with what to do, when nothing answers at the gateway's address: otherwise every
 * upload would fail on its own with Node's bare "fetch failed".
 */
async function assertReachable(url: string): Promise<void> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === 'TimeoutError' ? 'no answer in 10 s' : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Error(
      `the adseed server at ${url} is not reachable (${why}). Start it with \`npx adseed start\` (or \`npm start\`), or point --url or ADSEED_URL at a running gateway.`,
    );
  }
}

/** As long as the 429's `Retry-After` says, at least a second. */
const waitRetryAfter: IBackoffFactory<IRetryBackoffContext<unknown>> = {
  next: ({ result }) => ({
    duration: 1000 * Math.max(1, Number('value' in result && result.value instanceof Response ? result.value.headers.get('retry-after') : 1) || 1),
    next: (later) => waitRetryAfter.next(later),
  }),
};
/** Over the gateway's rate limit: wait as told and send the same request again, up to 20 times. */
const rateLimited = retry(
  handleWhenResult((r) => r instanceof Response && r.status === 429),
  { maxAttempts: 20, backoff: waitRetryAfter },
);

async function listImages(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && IMAGE.test(entry.name)) out.push(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out.sort();
}

async function ingest(folder: string, flags: Record<string, string | undefined>): Promise<number> {
  const url = (flags.url ?? process.env.ADSEED_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  await assertReachable(url);
  const manifestPath = flags.manifest ?? (existsSync(join(folder, 'manifest.csv')) ? join(folder, 'manifest.csv') : undefined);
  const manifest = new Map<string, ManifestRow>();
  if (manifestPath) for (const row of parseManifest(await fs.readFile(manifestPath, 'utf8'))) manifest.set(row.file, row);
  const files = await listImages(folder);
  if (files.length === 0) {
    process.stderr.write(`no JPEG, PNG or WebP images in ${folder}\n`);
    return 1;
  }
  const headers: Record<string, string> = {};
  if (flags.tenant) headers['x-tenant-id'] = flags.tenant;
  const apiKey = flags['api-key'] ?? process.env.ADSEED_API_KEY;
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;

  const bar = new SingleBar(
    { format: 'ingest [{bar}] {value}/{total} {file}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 },
    Presets.shades_classic,
  );
  bar.start(files.length, 0, { file: '' });
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      const rel = relative(folder, file).split('\\').join('/');
      const row = manifest.get(rel) ?? manifest.get(basename(file));
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(await fs.readFile(file))]), basename(file));
      form.set('kind', flags.kind ?? 'seed');
      if (row?.caption) form.set('caption', row.caption);
      if (row?.tags.length) form.set('tags', row.tags.join(','));
      if (row?.rights?.licence) form.set('licence', row.rights.licence);
      if (row?.rights?.attribution) form.set('attribution', row.rights.attribution);
      if (row?.rights?.expiresAt) form.set('expiresAt', row.rights.expiresAt);
      if (row?.rights?.channels?.length) form.set('channels', row.rights.channels.join(','));
      try {
        const response = await rateLimited.execute(() =>
          fetch(`${url}/v1/assets`, { method: 'POST', body: form, headers, signal: AbortSignal.timeout(60_000) }),
        );
        if (!response.ok) {
          const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
          failures.push(`${rel}: ${response.status} ${body.error?.message ?? response.statusText}`);
        }
      } catch (error) {
        failures.push(`${rel}: ${(error as Error).message}`);
      }
      bar.increment(1, { file: rel });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Number(flags.concurrency ?? 4)) }, worker));
  bar.stop();
  process.stdout.write(`${files.length - failures.length} of ${files.length} images uploaded to ${url} and queued for indexing\n`);
  for (const failure of failures) process.stderr.write(`  failed: ${failure}\n`);
  return failures.length ? 2 : 0;
}

interface CampaignAd {
  index: number;
  url: string;
  provenancePath: string;
  format: string;
  variant: number;
  segment?: string;
  seedPath: string;
}
interface CampaignJob {
  id: string;
  status: string;
  progress: { done: number; failed: number; total: number };
  ads: CampaignAd[];
  failures: { index: number; code: string; reason: string; segment?: string; format: string }[];
}

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60) || 'ad';

async function campaign(flags: Record<string, string | undefined>): Promise<number> {
  const url = (flags.url ?? process.env.ADSEED_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  if (!flags.brand || !flags.segments) throw new Error('campaign needs --brand <pack.png or brands/… path> and --segments <file, one segment a line>');
  await assertReachable(url);
  const headers: Record<string, string> = {};
  if (flags.tenant) headers['x-tenant-id'] = flags.tenant;
  const apiKey = flags['api-key'] ?? process.env.ADSEED_API_KEY;
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const call = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { ...headers, ...(init.headers as Record<string, string>) },
      signal: AbortSignal.timeout(120_000),
    });
    const body = (await response.json().catch(() => ({}))) as T & { error?: { message?: string } };
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status}: ${body.error?.message ?? response.statusText}`);
    return { status: response.status, body };
  };

  const segments = (await fs.readFile(flags.segments, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (segments.length === 0) throw new Error(`${flags.segments} has no segments (one a line; # starts a comment)`);
  const formats = (flags.formats ?? '1:1')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const variants = Number(flags.variants ?? 1);

  let brandPath = flags.brand;
  let brandHash = flags.brand;
  if (existsSync(flags.brand)) {
    const bytes = await fs.readFile(flags.brand);
    brandHash = createHash('sha256').update(bytes).digest('hex');
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), basename(flags.brand));
    form.set('kind', 'brand');
    brandPath = (await call<{ asset: { path: string } }>('/v1/assets', { method: 'POST', body: form })).body.asset.path;
  }
  const request = {
    brandPath,
    segments,
    formats,
    variants,
    ...(flags.headline ? { headline: flags.headline } : {}),
    ...(flags.cta ? { callToAction: flags.cta } : {}),
    ...(flags['min-score'] !== undefined ? { minScore: Number(flags['min-score']) } : {}),
  };
  const idempotencyKey = `cli-${createHash('sha256')
    .update(JSON.stringify({ ...request, brandPath: brandHash }))
    .digest('hex')
    .slice(0, 40)}`;
  const created = await call<{ job: CampaignJob }>('/v1/jobs', {
    method: 'POST',
    body: JSON.stringify(request),
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
  });
  const jobId = created.body.job.id;
  process.stdout.write(`${created.status === 200 ? 'continuing' : 'started'} job ${jobId}: ${created.body.job.progress.total} ads\n`);

  const out = flags.out ?? './ads';
  const downloaded = new Set<number>();
  const bar = new SingleBar(
    { format: 'campaign [{bar}] {value}/{total} ads ({failed} failed)', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 },
    Presets.shades_classic,
  );
  bar.start(created.body.job.progress.total, 0, { failed: 0 });
  const download = async (job: CampaignJob) => {
    for (const ad of job.ads) {
      if (downloaded.has(ad.index)) continue;
      downloaded.add(ad.index);
      const dir = join(out, slug(ad.segment ?? basename(ad.seedPath)));
      await fs.mkdir(dir, { recursive: true });
      const name = `${ad.format.replace(':', 'x')}-v${ad.variant}`;
      for (const [from, to] of [
        [ad.url, `${name}.png`],
        [`/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`, `${name}.provenance.json`],
      ]) {
        const response = await fetch(`${url}${from}`, { headers, signal: AbortSignal.timeout(120_000) });
        if (!response.ok) throw new Error(`downloading ${from} answered ${response.status}`);
        await fs.writeFile(join(dir, to), Buffer.from(await response.arrayBuffer()));
      }
    }
    bar.update(downloaded.size, { failed: job.progress.failed });
  };

  // Server-sent events carry the job on every change; the server ends the stream when the job ends.
  let job = created.body.job;
  const response = await fetch(`${url}/v1/jobs/${jobId}/events`, { headers });
  if (!response.ok || !response.body) throw new Error(`GET /v1/jobs/${jobId}/events answered ${response.status}`);
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer
        .slice(0, cut)
        .split('\n')
        .find((l) => l.startsWith('data: '));
      buffer = buffer.slice(cut + 2);
      if (!data) continue;
      job = JSON.parse(data.slice(6)) as CampaignJob;
      await download(job);
    }
  }
  job = (await call<{ job: CampaignJob }>(`/v1/jobs/${jobId}`)).body.job;
  await download(job);
  bar.stop();
  process.stdout.write(`job ${jobId} ${job.status}: ${job.progress.done} ads in ${out}, ${job.progress.failed} failed\n`);
  for (const failure of job.failures) process.stderr.write(`  failed: ${failure.segment ?? ''} ${failure.format}: ${failure.code} ${failure.reason}\n`);
  if (job.status === 'done' && job.progress.failed === 0) return 0;
  return job.status === 'done' ? 2 : 1;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      manifest: { type: 'string' },
      kind: { type: 'string' },
      url: { type: 'string' },
      tenant: { type: 'string' },
      'api-key': { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      brand: { type: 'string' },
      segments: { type: 'string' },
      formats: { type: 'string' },
      variants: { type: 'string' },
      out: { type: 'string' },
      headline: { type: 'string' },
      cta: { type: 'string' },
      'min-score': { type: 'string' },
    },
  });
  const [command, folder] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 1;
  }
  if (command === 'start') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading main starts the server, which only `start` may do
    require('./main');
    return -1;
  }
  if (command === 'ingest' && folder) {
    if (values.kind && !['seed', 'brand'].includes(values.kind)) throw new Error('--kind is seed or brand');
    return ingest(folder, values as Record<string, string | undefined>);
  }
  if (command === 'campaign') return campaign(values as Record<string, string | undefined>);
  process.stderr.write(USAGE + '\n');
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`adseed: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}

export { main as runCli };
