import { createHash } from 'node:crypto';
import {
  AssetTopics,
  assetContentUrl,
  assetIdFor,
  rightsFromMetadata,
  rightsOf,
  rightsToMetadata,
  Queries,
  splitStoragePath,
  storeCursor,
  type Asset,
  type AssetKind,
  type IndexedAsset,
  type ListAssetsQuery,
  type PatchAssetBody,
  type UploadAssetFields,
  type UploadAssetResponse,
} from '@adseed/contracts';
import { IMAGE_GUARDRAIL, ImageModerationUnavailableError, type ImageGuardrail, type ImageVerdict } from '@adseed/guardrails';
import { SERVICE_CONFIG, QUERY_CLIENT, type QueryClient, BUCKETS, LOGGER } from '@adseed/platform';
import { type ObjectInfo, OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import type { Buckets } from '@adseed/config';
import type { Logger } from '@adseed/telemetry';
import type { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { inspectImage } from './image-inspector';

/** Letters NFKD does not decompose into an ASCII base letter plus marks. */
const TRANSLITERATIONS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  ł: 'l',
  Ł: 'L',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
};

/**
 * The ASCII slug of a file name we keep in a storage key: accents dropped ("été" → "ete"), a
 * few letters transliterated, anything else one `_`; at most 100 characters. The name as
 * uploaded is kept in the object's metadata (`originalName`).
 */
export const safeName = (name: string, extension: string): string => {
  const stem = name
    .replace(/\.[^.]*$/, '')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    // eslint-disable-next-line no-control-regex -- the class is 'anything outside ASCII', NUL included as its bound
    .replace(/[^\x00-\x7F]/g, (c) => TRANSLITERATIONS[c] ?? '_')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^[._]+|_+$/g, '')
    .slice(0, 100);
  return `${stem || 'image'}.${extension}`;
};

/** The uploaded name as a person wrote it: NFC, no control or bidi-override characters, at most 255 characters. */
export const originalName = (name: string): string | undefined => {
  const clean = [
    ...name
      .normalize('NFC')
      .replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu, '')
      .trim(),
  ]
    .slice(0, 255)
    .join('');
  return clean || undefined;
};

const parseModeration = (raw: string | undefined): Pick<Asset, 'moderation'> => {
  try {
    return raw ? { moderation: JSON.parse(raw) as NonNullable<Asset['moderation']> } : {};
  } catch {
    return {};
  }
};

@Injectable()
export class AssetsService {
  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(QUERY_CLIENT) private readonly queries: QueryClient,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    @Optional() @Inject(IMAGE_GUARDRAIL) private readonly imageGuardrail: ImageGuardrail | null = null,
  ) {}

  /**
   * Stores the image under `<tenant>/<content hash>/<file name>` (so the same upload twice is the
   * same object and the same asset id) and publishes the ingest event. Nothing is stored unless
   * the image passed inspection. With the image guardrail on, an image it flags goes to the
   * quarantine bucket instead (`<tenant>/<kind>/<hash>/<name>`) and no ingest event is published.
   */
  async upload(tenant: string, file: { buffer: Buffer; originalname: string } | undefined, fields: UploadAssetFields): Promise<UploadAssetResponse> {
    if (!file || file.buffer.length === 0)
      throw new ApiError(400, 'validation_failed', 'attach the image as the multipart field `file`', [{ field: 'file', reason: 'missing or empty' }]);
    const image = await inspectImage(file.buffer, this.env.ADSEED_MAX_IMAGE_PIXELS);
    const rights = rightsOf(fields);
    const verdict = await this.moderate(file.buffer);
    const hash = createHash('sha256').update(file.buffer).digest('hex').slice(0, 24);
    const name = safeName(file.originalname, image.extension);
    const uploadedName = originalName(file.originalname);
    const metadata = {
      tenant,
      kind: fields.kind,
      width: String(image.width),
      height: String(image.height),
      ...(uploadedName ? { originalname: uploadedName } : {}),
      ...(fields.caption ? { caption: fields.caption } : {}),
      ...(fields.tags.length ? { tags: fields.tags.join(',') } : {}),
      ...rightsToMetadata(rights),
    };
    if (verdict?.flagged) {
      const quarantined = await this.store.put(this.env.ADSEED_BUCKET_QUARANTINE, `${tenant}/${fields.kind}/${hash}/${name}`, file.buffer, {
        contentType: image.contentType,
        metadata: {
          ...metadata,
          status: 'quarantined',
          moderation: JSON.stringify({ model: verdict.model, reasons: verdict.reasons, scores: verdict.scores }),
        },
      });
      // No file name or caption in the log: they are the uploader's words.
      this.logger.info('upload quarantined by the image guardrail', {
        tenant,
        kind: fields.kind,
        model: verdict.model,
        reasons: verdict.reasons,
        scores: verdict.scores,
      });
      return { asset: this.toAsset(tenant, fields.kind, quarantined), ingest: 'quarantined' };
    }
    const bucket = fields.kind === 'brand' ? this.buckets.brand : this.buckets.seed;
    const key = `${tenant}/${hash}/${name}`;
    const path = `${bucket}/${key}`;
    const info = await this.store.put(bucket, key, file.buffer, { contentType: image.contentType, metadata });
    const assetId = assetIdFor(path);
    await this.bus.publish(AssetTopics.ingestRequested, {
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
    return { asset: this.toAsset(tenant, fields.kind, info), ingest: 'queued' };
  }

  /** The image guardrail's verdict, or undefined when it is off; fails closed (503) when it cannot run. */
  private async moderate(bytes: Buffer): Promise<ImageVerdict | undefined> {
    if (!this.imageGuardrail) return undefined;
    try {
      return await this.imageGuardrail.check(bytes);
    } catch (error) {
      if (error instanceof ImageModerationUnavailableError) {
        throw new ApiError(503, 'moderation_unavailable', 'the image classifier is not available right now; try again shortly', [
          { field: 'file', reason: 'moderation unavailable' },
        ]);
      }
      throw error;
    }
  }

  /**
   * Deletes the object now and announces it: the retrieval service drops the vectors and the
   * agent the subject membership, from the event. Deleting an unknown id is a 404.
   */
  async delete(tenant: string, id: string): Promise<{ deleted: { id: string; path: string } }> {
    const asset = await this.indexed(tenant, id);
    const { bucket, key } = splitStoragePath(asset.path);
    await this.store.delete(bucket, key);
    await this.bus.publish(AssetTopics.deleted, { key: id, value: { assetId: id, tenant, path: asset.path, deletedAt: new Date().toISOString() } });
    return { deleted: { id, path: asset.path } };
  }

  /** Changes caption, tags or rights: the object's metadata is rewritten and the asset re-ingested (caption re-embedded, index updated). */
  async update(tenant: string, id: string, patch: PatchAssetBody): Promise<Asset> {
    const asset = await this.indexed(tenant, id);
    const { bucket, key } = splitStoragePath(asset.path);
    const { body, info } = await this.store.get(bucket, key);
    const caption = patch.caption ?? asset.caption ?? info.metadata['caption'];
    const tags = patch.tags ?? asset.tags;
    const rights = patch.rights ?? asset.rights;
    const { caption: _c, tags: _t, licence: _l, attribution: _a, 'expires-at': _e, channels: _ch, ...kept } = info.metadata;
    const stored = await this.store.put(bucket, key, body, {
      contentType: info.contentType,
      metadata: { ...kept, ...(caption ? { caption } : {}), ...(tags.length ? { tags: tags.join(',') } : {}), ...rightsToMetadata(rights) },
    });
    await this.bus.publish(AssetTopics.ingestRequested, {
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
    const { asset } = await this.queries.call(Queries.getAsset, { tenant, assetId: id });
    if (!asset) throw new ApiError(404, 'not_found', `no asset ${id}`, [{ field: 'id', reason: 'unknown asset for this tenant (or not indexed yet)' }]);
    return asset;
  }

  async list(tenant: string, query: ListAssetsQuery): Promise<{ items: Asset[]; nextCursor?: string }> {
    const quarantined = query.status === 'quarantined';
    const bucket = quarantined ? this.env.ADSEED_BUCKET_QUARANTINE : this.bucketOf(query.kind);
    const prefix = quarantined ? `${tenant}/${query.kind}/` : `${tenant}/`;
    if (quarantined && this.env.ADSEED_IMAGE_GUARDRAIL === 'off') return { items: [] };
    const page = await this.store.list(bucket, prefix, {
      limit: query.limit,
      ...(query.cursor ? { startAfter: storeCursor.startAfter(prefix, query.cursor) } : {}),
    });
    return {
      items: page.items.map((i) => this.toAsset(tenant, query.kind, i)),
      ...(page.nextStartAfter ? { nextCursor: storeCursor.after(prefix, page.nextStartAfter) } : {}),
    };
  }

  /** The bytes behind a path, if the path is in one of our buckets and belongs to the tenant. */
  async content(tenant: string, path: string): Promise<{ body: Buffer; info: ObjectInfo }> {
    const { bucket, key } = splitStoragePath(path);
    const buckets = Object.values(this.buckets);
    if (!buckets.includes(bucket) || !key.startsWith(`${tenant}/`)) {
      throw new ApiError(404, 'not_found', `no object at ${path}`, [{ field: 'query.path', reason: 'not found for this tenant' }]);
    }
    return this.store.get(bucket, key);
  }

  /** Presigned (MinIO) when the store can, so clients fetch bytes without the gateway in the path. */
  async url(tenant: string, path: string): Promise<{ url: string; expiresAt?: string; presigned: boolean }> {
    const { info } = await this.statOwned(tenant, path);
    const expiry = this.env.ADSEED_PRESIGN_EXPIRY_SECONDS;
    const presigned = await this.store.presignedGetUrl(info.bucket, info.key, expiry);
    if (!presigned) return { url: assetContentUrl(path), presigned: false };
    return { url: presigned, expiresAt: new Date(Date.now() + expiry * 1000).toISOString(), presigned: true };
  }

  /**
   * A brand image the tenant may use: in the brands bucket, under the tenant's prefix, and
   * stored. Checked when a conversation or ad is requested, so a bad path fails at once, not at
   * the final "yes".
   */
  async assertBrandImage(tenant: string, path: string, field = 'brandPath'): Promise<void> {
    const { bucket, key } = splitStoragePath(path);
    // A well-formed path outside the brands bucket names no brand image: 404, as documented.
    if (bucket !== this.buckets.brand) {
      throw new ApiError(404, 'not_found', `${field} must be a brand image (upload it with kind=brand); ${path} is not in the ${this.buckets.brand} bucket`, [
        { field, reason: 'not a brand image' },
      ]);
    }
    const info = key.startsWith(`${tenant}/`) ? await this.store.stat(bucket, key) : undefined;
    if (!info) throw new ApiError(404, 'not_found', `no brand image at ${path}`, [{ field, reason: 'not found for this tenant' }]);
  }

  private async statOwned(tenant: string, path: string): Promise<{ info: ObjectInfo }> {
    const { bucket, key } = splitStoragePath(path);
    const info = Object.values(this.buckets).includes(bucket) && key.startsWith(`${tenant}/`) ? await this.store.stat(bucket, key) : undefined;
    if (!info) throw new ApiError(404, 'not_found', `no object at ${path}`, [{ field: 'query.path', reason: 'not found for this tenant' }]);
    return { info };
  }

  private bucketOf(kind: AssetKind): string {
    return this.buckets[kind];
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
      ...(m.originalname ? { originalName: m.originalname } : {}),
      tags: m.tags ? m.tags.split(',').filter(Boolean) : [],
      ...(rightsFromMetadata(m) ? { rights: rightsFromMetadata(m) } : {}),
      createdAt: info.lastModified.toISOString(),
      ...(m.status === 'quarantined' ? { status: 'quarantined' as const, ...parseModeration(m.moderation) } : {}),
    };
  }
}
