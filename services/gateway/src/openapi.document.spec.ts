import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from './gateway.module';

type Operation = { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; responses: Record<string, { headers?: Record<string, unknown> }> };
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

describe('the OpenAPI document generated from the controllers', () => {
  let doc: OpenAPIObject;
  const operations: Array<{ name: string; operation: Operation }> = [];
  before(async () => {
    doc = JSON.parse(JSON.stringify(await buildOpenApiDocument())) as OpenAPIObject;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const operation = (item as Record<string, Operation | undefined>)[method];
        if (operation) operations.push({ name: `${method.toUpperCase()} ${path}`, operation });
      }
    }
  });

  it('matches the committed docs/openapi.json (run `npm run openapi` after changing a controller or a contract)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'docs', 'openapi.json'), 'utf8'));
    assert.deepEqual(doc, committed);
  });

  it('documents every route the gateway serves, and no other', () => {
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
    assert.equal(operations.length, 36);
  });

  it('every operation documents a success, the common errors, and 429 with Retry-After', () => {
    for (const { name, operation } of operations) {
      const codes = Object.keys(operation.responses);
      assert.ok(
        codes.some((code) => code.startsWith('2')),
        `${name}: no success response`,
      );
      for (const code of ['400', '401', '403', '429', '431']) assert.ok(codes.includes(code), `${name}: no ${code}`);
      assert.ok(operation.responses['429']?.headers?.['Retry-After'], `${name}: 429 without Retry-After`);
    }
  });

  it('every operation with a body documents 413, every 503 of a service behind the gateway its Retry-After', () => {
    for (const { name, operation } of operations) {
      if (operation.requestBody) assert.ok(operation.responses['413'], `${name}: a body but no 413`);
    }
    const search = operations.find((o) => o.name === 'POST /v1/search')?.operation;
    assert.ok(search?.responses['503']?.headers?.['Retry-After'] && search.responses['504']?.headers?.['Retry-After']);
  });

  it('path parameters and the tenant header are declared where the routes take them', () => {
    for (const { name, operation } of operations) {
      const names = (operation.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      for (const [, parameter] of name.matchAll(/\{(\w+)\}/g)) assert.ok(names.includes(`path:${parameter}`), `${name}: no path parameter ${parameter}`);
      // Signing out needs no tenant: it only clears the cookie.
      if (name !== 'DELETE /v1/session') assert.ok(names.includes('header:x-tenant-id'), `${name}: no X-Tenant-Id`);
    }
  });

  it('validation limits come from the contracts: the search text is at most 500 characters', () => {
    assert.match(JSON.stringify(doc.components?.schemas?.['SearchBody']), /"maxLength":500/);
  });
});
