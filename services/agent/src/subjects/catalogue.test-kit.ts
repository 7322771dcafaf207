import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '@adseed/storage';
import { Logger } from '@adseed/telemetry';
import { SubjectCatalogueService, type EmbedTexts } from './subject-catalogue.service';

/**
 * For unit tests of the catalogue and the proposers: a deterministic bag-of-words "sentence
 * encoder" (texts sharing words are close; word order and synonyms are ignored), standing in for
 * the real one, which the end-to-end tests use.
 */
export function bagOfWordsEmbedder(dims = 256): EmbedTexts & { calls: string[][] } {
  const calls: string[][] = [];
  const embed = async (texts: string[]) => {
    calls.push(texts);
    return texts.map((text) => {
      const v = new Float32Array(dims);
      for (const raw of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
        const word = raw.length > 3 ? raw.replace(/(?<!s)s$/u, '') : raw;
        if (word.length < 2 || ['the', 'and', 'for', 'who', 'with'].includes(word)) continue;
        let h = 2166136261;
        for (const ch of word) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619);
        v[(h >>> 0) % dims] += 1;
      }
      return v;
    });
  };
  return Object.assign(embed, { calls });
}

export function catalogueForTests(options: { embedTexts?: EmbedTexts; mergeCosine?: number; dir?: string; now?: () => Date } = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'adseed-catalogue-'));
  const store = new FsObjectStore(dir);
  const lines: string[] = [];
  const logger = new Logger({ service: 'test', level: 'debug', format: 'json', sink: (l) => lines.push(l) });
  const service = new SubjectCatalogueService({
    store,
    bucket: 'state',
    embedTexts: options.embedTexts ?? bagOfWordsEmbedder(),
    logger,
    mergeCosine: options.mergeCosine ?? 0.8,
    saveDelayMs: 5,
    ...(options.now ? { now: options.now } : {}),
  });
  return { service, store, dir, lines };
}
