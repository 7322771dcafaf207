import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildOpenApiDocument } from './openapi';

describe(buildOpenApiDocument.name, () => {
  it('matches the committed docs/openapi.json (run `npm run openapi` after changing a contract)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'openapi.json'), 'utf8'));
    assert.deepEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())), committed);
  });

  it('documents every route the gateway serves, with validation limits from the schemas', () => {
    const doc = buildOpenApiDocument() as unknown as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/v1/ads',
      '/v1/ads/{id}/review',
      '/v1/assets',
      '/v1/assets/content',
      '/v1/assets/url',
      '/v1/assets/{id}',
      '/v1/audit',
      '/v1/brand-kit',
      '/v1/brand-kit/font',
      '/v1/conversations',
      '/v1/conversations/{id}',
      '/v1/conversations/{id}/events',
      '/v1/conversations/{id}/messages',
      '/v1/conversations/{id}/seed',
      '/v1/experiments',
      '/v1/experiments/{id}',
      '/v1/experiments/{id}/next-pair',
      '/v1/experiments/{id}/votes',
      '/v1/jobs',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/cancel',
      '/v1/jobs/{id}/events',
      '/v1/reports/seed-gaps',
      '/v1/reviews',
      '/v1/search',
      '/v1/session',
      '/v1/subjects',
      '/v1/subjects/{id}',
    ]);
    assert.match(JSON.stringify(doc.paths['/v1/search'].post.requestBody), /"maxLength":500/);
  });
});
