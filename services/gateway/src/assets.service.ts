import { createHash } from 'node:crypto';
import {
  AssetTopics,
  assetContentUrl,
  assetIdFor,
  rightsFromMetadata,
  rightsOf,
  rightsToMetadata,
  ServiceRoutes,
  splitStoragePath,
  type Asset,
  type AssetKind,
  type IndexedAsset,
  type ListAssetsQuery,
  type PatchAssetBody,
  type UploadAssetFields,
} from '@adseed/contracts';
import { RUNTIME, type ServiceRuntime } from '@adseed/platform';
import type { ObjectInfo } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_ENV, type GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { inspectImage } from './image-inspector';


/** A file name we can keep in a key: letters, digits, `._-`, at most 100 characters. */
const safeName = (name: string, extension: string): string => {
  const stem = name.replace(/\.[^.]*$/, '').normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 100);
  return `${stem || 'image'}.${extension}`;
};

@Injectable()
export class AssetsService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
  ) {}

  /**
   * Stores the image under `<tenant>/<content hash>/<file name>` (so the same upload twice is the
   * same object and the same asset id) and publishes the ingest event. Nothing is stored unless
   * the image passed inspection.
   */
  async upload(tenant: string, file: { buffer: Buffer; originalname: string } | undefined, fields: UploadAssetFields): Promise<Asset> {
    if (!file || file.buffer.length === 0) throw new ApiError(400, 'validation_failed', 'attach the image as the multipart field `file`', [{ field: 'file', reason: 'missing or empty' }]);
    const image = await inspectImage(file.buffer, this.env.ADSEED_MAX_IMAGE_PIXELS);
    const rights = rightsOf(fields);
    const bucket = fields.kind === 'brand' ? this.runtime.buckets.brand : this.runtime.buckets.seed;
    const hash = createHash('sha256').update(file.buffer).digest('hex').slice(0, 24);
    const key = `${tenant}/${hash}/${safeName(file.originalname, image.extension)}`;
    const path = `${bucket}/${key}`;
    const info = await this.runtime.store.put(bucket, key, file.buffer, {
      contentType: image.contentType,
      metadata: {
        tenant,
        kind: fields.kind,
        width: String(image.width),
        height: String(image.height),
        ...(fields.caption ? { caption: fields.caption } : {}),
        ...(fields.tags.length ? { tags: fields.tags.join(',') } : {}),
        ...rightsToMetadata(rights),
      },
    });
    const assetId = assetIdFor(path);
    await this.runtime.bus.publish(AssetTopics.ingestRequested, {
      key: assetId,
      value: {
        assetId,
        tenant,
        kind: fields.kind,
        path,
        contentHash: info.etag,
        ...(fields.caption ? { caption: fields.caption } : {}),
        tags: fields.tags,
        ...(rights ? { rights } : {}),
        source: 'upload',
        requestedAt: new Date().toISOString(),
      },
    });
    return this.toAsset(tenant, fields.kind, info);
  }

  /**
   * Deletes the object now and announces it: the retrieval service drops the vectors and the
   * agent the subject membership, from the event. Deleting an unknown id is a 404.
   */
  async delete(tenant: string, id: string): Promise<{ deleted: { id: string; path: string } }> {
    const asset = await this.indexed(tenant, id);
    const { bucket, key } = splitStoragePath(asset.path);
    await this.runtime.store.delete(bucket, key);
    await this.runtime.bus.publish(AssetTopics.deleted, { key: id, value: { assetId: id, tenant, path: asset.path, deletedAt: new Date().toISOString() } });
    return { deleted: { id, path: asset.path } };
  }

  /** Changes caption, tags or rights: the object's metadata is rewritten and the asset re-ingested (caption re-embedded, index updated). */
  async update(tenant: string, id: string, patch: PatchAssetBody): Promise<Asset> {
    const asset = await this.indexed(tenant, id);
    const { bucket, key } = splitStoragePath(asset.path);
    const { body, info } = await this.runtime.store.get(bucket, key);
    const caption = patch.caption ?? asset.caption ?? info.metadata['caption'];
    const tags = patch.tags ?? asset.tags;
    const rights = patch.rights ?? asset.rights;
    const { caption: _c, tags: _t, licence: _l, attribution: _a, 'expires-at': _e, channels: _ch, ...kept } = info.metadata;
    const stored = await this.runtime.store.put(bucket, key, body, {
      contentType: info.contentType,
      metadata: { ...kept, ...(caption ? { caption } : {}), ...(tags.length ? { tags: tags.join(',') } : {}), ...rightsToMetadata(rights) },
    });
    await this.runtime.bus.publish(AssetTopics.ingestRequested, {
      key: id,
      value: {
        assetId: id,
        tenant,
        kind: asset.kind,
        path: asset.path,
        contentHash: stored.etag,
        ...(caption ? { caption } : {}),
        tags,
        ...(rights ? { rights } : {}),
        source: 'upload',
        requestedAt: new Date().toISOString(),
      },
    });
    return this.toAsset(tenant, asset.kind, stored);
  }

  /** The asset as the index holds it, for this tenant only. */
  private async indexed(tenant: string, id: string): Promise<IndexedAsset> {
    const { asset } = await this.runtime.bus.request(ServiceRoutes.getAsset, { key: id, value: { tenant, assetId: id } });
    if (!asset) throw new ApiError(404, 'not_found', `no asset ${id}`, [{ field: 'id', reason: 'unknown asset for this tenant (or not indexed yet)' }]);
    return asset;
  }

  async list(tenant: string, query: ListAssetsQuery): Promise<{ items: Asset[]; nextCursor?: string }> {
    const bucket = this.bucketOf(query.kind);
    if (query.cursor && !query.cursor.startsWith(`${tenant}/`)) throw new ApiError(400, 'validation_failed', 'cursor does not belong to this listing', [{ field: 'query.cursor', reason: 'invalid' }]);
    const page = await this.runtime.store.list(bucket, `${tenant}/`, { limit: query.limit, ...(query.cursor ? { startAfter: query.cursor } : {}) });
    return { items: page.items.map((i) => this.toAsset(tenant, query.kind, i)), ...(page.nextStartAfter ? { nextCursor: page.nextStartAfter } : {}) };
  }

  /** The bytes behind a path, if the path is in one of our buckets and belongs to the tenant. */
  async content(tenant: string, path: string): Promise<{ body: Buffer; info: ObjectInfo }> {
    const { bucket, key } = splitStoragePath(path);
    const buckets = Object.values(this.runtime.buckets);
    if (!buckets.includes(bucket) || !key.startsWith(`${tenant}/`)) {
      throw new ApiError(404, 'not_found', `no object at ${path}`, [{ field: 'query.path', reason: 'not found for this tenant' }]);
    }
    return this.runtime.store.get(bucket, key);
  }

  /** Presigned (MinIO) when the store can, so clients fetch bytes without the gateway in the path. */
  async url(tenant: string, path: string): Promise<{ url: string; expiresAt?: string; presigned: boolean }> {
    const { info } = await this.statOwned(tenant, path);
    const expiry = this.env.ADSEED_PRESIGN_EXPIRY_SECONDS;
    const presigned = await this.runtime.store.presignedGetUrl(info.bucket, info.key, expiry);
    if (!presigned) return { url: assetContentUrl(path), presigned: false };
    return { url: presigned, expiresAt: new Date(Date.now() + expiry * 1000).toISOString(), presigned: true };
  }

  private async statOwned(tenant: string, path: string): Promise<{ info: ObjectInfo }> {
    const { bucket, key } = splitStoragePath(path);
    const info = Object.values(this.runtime.buckets).includes(bucket) && key.startsWith(`${tenant}/`) ? await this.runtime.store.stat(bucket, key) : undefined;
    if (!info) throw new ApiError(404, 'not_found', `no object at ${path}`, [{ field: 'query.path', reason: 'not found for this tenant' }]);
    return { info };
  }

  private bucketOf(kind: AssetKind): string {
    return this.runtime.buckets[kind];
  }

  private toAsset(tenant: string, kind: AssetKind, info: ObjectInfo): Asset {
    const path = `${info.bucket}/${info.key}`;
    const m = info.metadata;
    return {
      id: assetIdFor(path),
      tenant,
      kind,
      path,
      url: assetContentUrl(path),
      contentType: info.contentType,
      bytes: info.size,
      ...(m.width ? { width: Number(m.width) } : {}),
      ...(m.height ? { height: Number(m.height) } : {}),
      ...(m.caption ? { caption: m.caption } : {}),
      tags: m.tags ? m.tags.split(',').filter(Boolean) : [],
      ...(rightsFromMetadata(m) ? { rights: rightsFromMetadata(m) } : {}),
      createdAt: info.lastModified.toISOString(),
    };
  }
}
