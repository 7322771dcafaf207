#!/usr/bin/env node
import { existsSync, promises as fs } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { parseManifest, type ManifestRow } from './manifest';

const USAGE = `usage:
  adseed start                         run the whole product in one process (same as npm start)
  adseed ingest <folder> [options]     upload every image in a folder through the gateway API
options:
  --manifest <csv>    columns file,caption,tags (;-separated),licence,attribution,expires,channels (;-separated);
                      any other column is a label that becomes a tag [default: <folder>/manifest.csv if present]
  --kind seed|brand   [default: seed]
  --url <gateway>     [default: $ADSEED_URL or http://127.0.0.1:8080]
  --tenant <id>       sent as X-Tenant-Id
  --api-key <key>     sent as Authorization: Bearer (or $ADSEED_API_KEY)
  --concurrency <n>   parallel uploads [default: 4]`;

const IMAGE = /\.(jpe?g|png|webp)$/i;

async function listImages(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && IMAGE.test(entry.name)) out.push(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out.sort();
}

async function ingest(folder: string, flags: Record<string, string | undefined>): Promise<number> {
  const url = (flags.url ?? process.env.ADSEED_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
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

  const bar = new SingleBar({ format: 'ingest [{bar}] {value}/{total} {file}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
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
        const response = await fetch(`${url}/v1/assets`, { method: 'POST', body: form, headers, signal: AbortSignal.timeout(60_000) });
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

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      manifest: { type: 'string' }, kind: { type: 'string' }, url: { type: 'string' }, tenant: { type: 'string' },
      'api-key': { type: 'string' }, concurrency: { type: 'string' }, help: { type: 'boolean', short: 'h' },
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
