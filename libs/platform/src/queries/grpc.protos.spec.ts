import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Queries, type QueryDef } from '@adseed/contracts';
import { loadSync, type Type } from 'protobufjs';
import type { z } from 'zod';
import { defOf, PROTO_DIR, PROTO_FILES } from './grpc.wire';

/** The object schemas a schema stands for (through optional, default, pipe, array, union). */
function objectsOf(schema: z.ZodType): Record<string, z.ZodType>[] {
  const def = defOf(schema);
  if (def.type === 'object') return [def.shape!];
  if (def.innerType) return objectsOf(def.innerType);
  if (def.in) return objectsOf(def.in);
  if (def.element) return objectsOf(def.element);
  if (def.options) return def.options.flatMap(objectsOf);
  return [];
}

/** Every field the contract has, missing from the proto message (a field the wire would drop). */
function missing(schema: z.ZodType, message: Type, path: string): string[] {
  const out: string[] = [];
  for (const shape of objectsOf(schema)) {
    for (const [key, field] of Object.entries(shape)) {
      const proto = message.fields[key];
      if (!proto) {
        out.push(`${path}.${key}`);
        continue;
      }
      const nested = proto.resolve().resolvedType;
      // a wrapper message (vectors, lists) is the codec's business: only plain nesting is compared
      if (nested && 'fields' in nested && !['Vectors', 'Subjects', 'SeedGaps'].includes(nested.name)) out.push(...missing(field, nested, `${path}.${key}`));
    }
  }
  return [...new Set(out)];
}

/** Fields only the caller adds after the call: the gateway marks a conversation's ad with its review. */
const ADDED_BY_THE_CALLER = new Set(['adseed.agent.v1.Agent/Converse reply.ad.review']);

describe('proto/adseed against libs/contracts', () => {
  for (const query of Object.values(Queries) as QueryDef<unknown, unknown>[]) {
    it(`${query.grpcService}/${query.method} carries every field of its request and reply`, () => {
      const root = loadSync(join(PROTO_DIR, PROTO_FILES[query.service]));
      const method = root.lookupService(query.grpcService).methods[query.method];
      assert.ok(method, 'the method is in the proto');
      method.resolve();
      const name = `${query.grpcService}/${query.method}`;
      const expected = (paths: string[]) => paths.filter((p) => !ADDED_BY_THE_CALLER.has(`${name} ${p}`));
      assert.deepEqual(expected(missing(query.request, method.resolvedRequestType!, 'request')), []);
      assert.deepEqual(expected(missing(query.reply, method.resolvedResponseType!, 'reply')), []);
    });
  }
});
