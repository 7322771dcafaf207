import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorBody } from '../common';
import { BRAND_FONT_MAX_BYTES, BrandKitResponse, PutBrandKitBody, UploadFontResponse } from './brand-kit';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** The brand-kit paths of the gateway's OpenAPI document. */
export function registerBrandKitPaths(r: OpenAPIRegistry, common: { headers: z.ZodObject; errors: Record<number, ReturnType<typeof json>> }): void {
  const { headers, errors } = common;
  r.registerPath({
    method: 'get',
    path: '/v1/brand-kit',
    tags: ['brand kit'],
    summary: "The tenant's current brand kit: colours, font and logo",
    request: { headers },
    responses: { 200: json(BrandKitResponse, 'The current version.'), ...errors, 404: json(ErrorBody, 'The tenant has no brand kit yet (`no_brand_kit`).') },
  });
  r.registerPath({
    method: 'put',
    path: '/v1/brand-kit',
    tags: ['brand kit'],
    summary: 'Write a new version of the brand kit; ads made from now on use it (a job keeps the version it started with)',
    request: { headers, body: { required: true, content: { 'application/json': { schema: PutBrandKitBody } } } },
    responses: {
      200: json(BrandKitResponse, 'The new version.'),
      ...errors,
      404: json(ErrorBody, '`fontPath` names no font uploaded by this tenant, or `logoPath` no brand image of this tenant.'),
    },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/brand-kit/font',
    tags: ['brand kit'],
    summary: 'Upload a font file (TTF, OTF, WOFF or WOFF2) for the brand kit; it is parsed, not trusted by its name',
    request: {
      headers,
      body: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: z
              .object({
                file: z
                  .string()
                  .min(1)
                  .meta({ format: 'binary', description: `the font file, at most ${BRAND_FONT_MAX_BYTES} bytes` }),
              })
              .strict(),
          },
        },
      },
    },
    responses: {
      201: json(UploadFontResponse, 'Stored; pass `font.path` as `fontPath` to `PUT /v1/brand-kit`.'),
      ...errors,
      413: json(ErrorBody, 'The file is larger than allowed.'),
      415: json(ErrorBody, 'Not a font this generator can render (unreadable, a collection, or without the Latin letters and digits).'),
    },
  });
}
