export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: Date;
  /** User metadata (MinIO/S3 `x-amz-meta-*`), keys lower-case. */
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType: string;
  metadata?: Record<string, string>;
}

export interface ListPage {
  items: ObjectInfo[];
  /** Pass as `startAfter` to get the next page. */
  nextStartAfter?: string;
}

/**
 * The object store port, MinIO's model: buckets, keys, content type, user metadata, listing
 * by prefix. Services hand each other `<bucket>/<key>` paths, never bytes.
 */
export interface ObjectStore {
  ensureBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: Buffer, options: PutOptions): Promise<ObjectInfo>;
  get(bucket: string, key: string): Promise<{ body: Buffer; info: ObjectInfo }>;
  /** undefined when the object does not exist. */
  stat(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  list(bucket: string, prefix: string, options?: { limit?: number; startAfter?: string }): Promise<ListPage>;
  delete(bucket: string, key: string): Promise<void>;
  /** A short-lived URL a browser can GET directly, where the store supports it. */
  presignedGetUrl(bucket: string, key: string, expirySeconds: number): Promise<string | undefined>;
  /**
   * Asks the store to announce every object created in the bucket to a notification target
   * (MinIO: `arn:minio:sqs::<id>:kafka`). Stores without notifications leave this out.
   */
  enableNotifications?(bucket: string, targetArn: string): Promise<void>;
  close(): Promise<void>;
}

export const OBJECT_STORE = Symbol('OBJECT_STORE');

export class ObjectNotFoundError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`no object ${bucket}/${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid object key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function assertValidBucket(bucket: string): void {
  if (!BUCKET.test(bucket)) throw new InvalidKeyError(bucket, 'bucket names are 3-63 lower-case letters, digits, "." or "-"');
}

/** Keys are relative, `/`-separated, with no `.`/`..`/empty segments, no NUL or backslash. */
export function assertValidKey(key: string): void {
  if (key.length === 0 || Buffer.byteLength(key) > 1024) throw new InvalidKeyError(key, 'must be 1-1024 bytes');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'must not be absolute');
  if (/[\0\\]/.test(key)) throw new InvalidKeyError(key, 'must not contain NUL or backslash');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidKeyError(key, 'must not contain control characters');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw new InvalidKeyError(key, 'must not contain empty, "." or ".." segments');
    if (segment.startsWith('.adseed')) throw new InvalidKeyError(key, 'segments starting with ".adseed" are reserved');
  }
}
