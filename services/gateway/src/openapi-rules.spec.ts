import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { chars, CreateAdBody, CreateExperimentBody, CreateJobBody, MAX_VARIANTS, NOT_BLANK, nonBlank, ReviewDecisionBody, SearchBody } from '@adseed/contracts';
import { buildOpenApiDocument } from './gateway.module';

type Rule = {
  if: { properties: { formats: { minItems: number }; variants: { minimum: number } }; required?: string[] };
  then: { properties: { seedPaths: { maxItems: number } } };
};

type Doc = {
  paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};
let doc: Doc;
before(async () => {
  doc = JSON.parse(JSON.stringify(await buildOpenApiDocument())) as Doc;
});

/** The document's JSON body schema of an operation (its component when it is a reference). */
const bodySchema = (path: string, method: 'post' | 'patch'): Record<string, unknown> => {
  const schema = doc.paths[path][method].requestBody.content['application/json'].schema;
  const ref = schema['$ref'];
  return typeof ref === 'string' ? doc.components.schemas[ref.replace('#/components/schemas/', '')] : schema;
};

describe('what the OpenAPI document says beyond the zod checks (their `.meta()`) agrees with the zod schemas', () => {
  it('POST /v1/jobs: the product rules admit exactly the bodies zod accepts (at most 256 ads)', () => {
    const rules = bodySchema('/v1/jobs', 'post').allOf as Rule[];
    const formats = ['1:1', '4:5', '9:16', '1.91:1'] as const;
    let checked = 0;
    for (let f = 1; f <= formats.length; f++) {
      for (const v of [undefined, ...Array.from({ length: MAX_VARIANTS }, (_, i) => i + 1)]) {
        for (let n = 1; n <= 64; n++) {
          const body = {
            brandPath: 'brands/t/b.png',
            seedPaths: Array.from({ length: n }, (_, i) => `seeds/t/${i}.png`),
            formats: formats.slice(0, f),
            ...(v ? { variants: v } : {}),
          };
          const applies = (r: Rule) =>
            f >= r.if.properties.formats.minItems && (v ?? 1) >= r.if.properties.variants.minimum && (r.if.required ?? []).every((k) => k in body);
          const bySpec = rules.filter(applies).every((r) => n <= r.then.properties.seedPaths.maxItems);
          assert.equal(bySpec, CreateJobBody.safeParse(body).success, JSON.stringify({ f, v, n }));
          checked++;
        }
      }
    }
    assert.equal(checked, 4 * 9 * 64);
  });

  it('POST /v1/ads/{id}/review: a rejection needs a reason, in the document as in zod', () => {
    const anyOf = bodySchema('/v1/ads/{id}/review', 'post').anyOf as Array<{ properties?: { decision: { const: string } }; required?: string[] }>;
    for (const decision of ['approve', 'reject']) {
      for (const reason of [undefined, 'blurry']) {
        const body = { decision, ...(reason ? { reason } : {}) };
        const bySpec = anyOf.some((b) => (b.properties ? b.properties.decision.const === decision : (b.required ?? []).every((k) => k in body)));
        assert.equal(bySpec, ReviewDecisionBody.safeParse(body).success, JSON.stringify(body));
      }
    }
  });

  it('lengths count characters as JSON Schema does: an emoji is one', () => {
    assert.equal(CreateAdBody.safeParse({ seedPath: 'seeds/t/a.png', callToAction: '😀'.repeat(40) }).success, true);
    assert.equal(CreateAdBody.safeParse({ seedPath: 'seeds/t/a.png', callToAction: '😀'.repeat(41) }).success, false);
    assert.equal(chars(3).safeParse('a😀b').success, true);
    assert.match(JSON.stringify(bodySchema('/v1/ads', 'post')), /"callToAction":\{"type":"string","maxLength":40\}/);
  });

  it('a blank text is refused, whatever whitespace it is made of, and the document says so with a pattern', () => {
    for (const blank of ['', ' ', '\t\n', '\u00a0\u3000', '\ufeff', '\u2028\u205f']) {
      assert.equal(SearchBody.safeParse({ text: blank }).success, false, JSON.stringify(blank));
      assert.equal(NOT_BLANK.test(blank), false, JSON.stringify(blank));
    }
    for (const text of ['a', ' a ', '\u200b', '😀', '\u001c']) {
      assert.equal(nonBlank(5).safeParse(text).success, true, JSON.stringify(text));
      assert.equal(NOT_BLANK.test(text), true, JSON.stringify(text));
    }
    assert.equal((bodySchema('/v1/search', 'post').properties as Record<string, { pattern?: string }>).text.pattern, NOT_BLANK.source);
  });

  it('experiment configurations need distinct names (the contract test filters repeats, JSON Schema cannot say it)', () => {
    const body = { name: 'x', brandPath: 'brands/t/b.png', seedPaths: ['seeds/t/a.png'] };
    assert.equal(CreateExperimentBody.safeParse({ ...body, configurations: [{ name: 'a' }, { name: 'b' }] }).success, true);
    assert.equal(CreateExperimentBody.safeParse({ ...body, configurations: [{ name: 'a' }, { name: 'a', placement: 'top-left' }] }).success, false);
  });
});
