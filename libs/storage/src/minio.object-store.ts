import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Client, NotificationConfig, ObjectCreatedAll, QueueConfig, type BucketItemStat } from 'minio';
import { assertValidBucket, assertValidKey, ObjectNotFoundError, type ListPage, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store.port';

export interface MinioStoreOptions {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region?: string;
}

const META_PREFIX = 'x-amz-meta-';

/** The MinIO adapter of the object store — the only file that imports the `minio` client. */
export class MinioObjectStore implements ObjectStore {
  private readonly client: Client;
  private readonly region: string;

  constructor(options: MinioStoreOptions) {
    this.region = options.region ?? 'us-east-1';
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: this.region,
    });
  }

  async ensureBucket(bucket: string): Promise<void> {
    assertValidBucket(bucket);
    if (await this.client.bucketExists(bucket)) return;
    try {
      await this.client.makeBucket(bucket, this.region);
    } catch (error) {
      // Another replica may have created it between the check and now.
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(String((error as { code?: string }).code ?? error))) throw error;
    }
  }

  async put(bucket: string, key: string, body: Buffer, options: PutOptions): Promise<ObjectInfo> {
    assertValidBucket(bucket);
    assertValidKey(key);
    const meta: Record<string, string> = { 'Content-Type': options.contentType };
    for (const [k, v] of Object.entries(options.metadata ?? {})) meta[`${META_PREFIX}${k.toLowerCase()}`] = encodeURIComponent(v);
    await this.client.putObject(bucket, key, body, body.length, meta);
    return (await this.stat(bucket, key))!;
  }

  async get(bucket: string, key: string): Promise<{ body: Buffer; info: ObjectInfo }> {
    assertValidBucket(bucket);
    assertValidKey(key);
    let response: Readable & { headers?: IncomingHttpHeaders };
    try {
      response = await this.client.getObject(bucket, key);
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(bucket, key);
      throw error;
    }
    // One request: the GET's own headers describe the bytes it returned (minio-js resolves
    // getObject with the HTTP response), where a HEAD first cost a round trip and could describe
    // another version than the one a put in between left for the GET.
    const { headers } = response;
    if (!headers) {
      response.destroy();
      throw new Error('minio client: getObject resolved without the response headers that describe the object');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const expected = Number(headers['content-length']);
    if (Number.isInteger(expected) && expected !== body.length) throw new Error(`${bucket}/${key}: got ${body.length} of ${expected} bytes`);
    return { body, info: toInfo(bucket, key, statOf(headers, body.length)) };
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    assertValidBucket(bucket);
    assertValidKey(key);
    let stat: BucketItemStat;
    try {
      stat = await this.client.statObject(bucket, key);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return toInfo(bucket, key, stat);
  }

  async list(bucket: string, prefix: string, options: { limit?: number; startAfter?: string } = {}): Promise<ListPage> {
    assertValidBucket(bucket);
    const limit = options.limit ?? 1000;
    const keys: string[] = [];
    const stream = this.client.listObjectsV2(bucket, prefix, true, options.startAfter ?? '');
    for await (const item of stream as AsyncIterable<{ name?: string }>) {
      if (item.name) keys.push(item.name);
      if (keys.length > limit) break;
    }
    const page = keys.slice(0, limit);
    const items = (await Promise.all(page.map((k) => this.stat(bucket, k)))).filter((i): i is ObjectInfo => Boolean(i));
    return { items, nextStartAfter: keys.length > limit ? page[page.length - 1] : undefined };
  }

  async delete(bucket: string, key: string): Promise<void> {
    assertValidKey(key);
    await this.client.removeObject(bucket, key);
  }

  async presignedGetUrl(bucket: string, key: string, expirySeconds: number): Promise<string> {
    assertValidKey(key);
    return this.client.presignedGetObject(bucket, key, expirySeconds);
  }

  /** Idempotent: replaces the bucket's notification configuration with this one target. */
  async enableNotifications(bucket: string, targetArn: string): Promise<void> {
    const config = new NotificationConfig();
    const queue = new QueueConfig(targetArn);
    queue.addEvent(ObjectCreatedAll);
    config.add(queue);
    await this.client.setBucketNotification(bucket, config);
  }

  async close(): Promise<void> {}
}

const isMissing = (error: unknown): boolean => ['NotFound', 'NoSuchKey', 'NoSuchBucket'].includes(String((error as { code?: string }).code));

/** Headers `statObject` keeps as metadata (minio-js's own choice), `x-amz-meta-` taken off. */
const STAT_HEADERS = new Set([
  'content-type',
  'cache-control',
  'content-encoding',
  'content-disposition',
  'content-language',
  'x-amz-website-redirect-location',
  'x-amz-storage-class',
  'x-amz-acl',
  'x-amz-server-side-encryption',
]);

/** What `statObject` makes of a HEAD response, made of a GET response's headers. */
function statOf(headers: IncomingHttpHeaders, size: number): BucketItemStat {
  const metaData: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    if (name.startsWith(META_PREFIX)) metaData[name.slice(META_PREFIX.length)] = text;
    else if (STAT_HEADERS.has(name) || name.startsWith('x-amz-server-side-encryption-')) metaData[name] = text;
  }
  // as minio-js's sanitizeETag does for statObject
  const etag = String(headers.etag ?? '').replace(/^("|&quot;|&#34;)|("|&quot;|&#34;)$/g, '');
  return {
    size,
    metaData,
    lastModified: new Date(String(headers['last-modified'])),
    versionId: (headers['x-amz-version-id'] as string | undefined) ?? null,
    etag,
  };
}

function toInfo(bucket: string, key: string, stat: BucketItemStat): ObjectInfo {
  const metadata: Record<string, string> = {};
  let contentType = 'application/octet-stream';
  for (const [k, v] of Object.entries(stat.metaData ?? {})) {
    const name = k.toLowerCase();
    if (name === 'content-type') contentType = String(v);
    else if (name.startsWith(META_PREFIX)) metadata[name.slice(META_PREFIX.length)] = safeDecode(String(v));
    else if (!['etag', 'last-modified', 'content-length'].includes(name)) metadata[name] = safeDecode(String(v));
  }
  return { bucket, key, size: stat.size, etag: stat.etag, contentType, lastModified: stat.lastModified, metadata };
}

const safeDecode = (v: string): string => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};
