#!/usr/bin/env node
// `fetch-models` (`npm run models:fetch`): puts the model files the embedding service needs under
// `<cache-dir>/models/`. The functions live in the embedding service (src/models/fetch-models.ts);
// this is only the command line around them.
//   node services/embedding/tools/dist/fetch-models.js [--cache-dir .cache] [--clip] [--caption]
//        [--caption-source maven|huggingface]
import { runFetchModels } from '@adseed/embedding/dist/models/fetch-models';

runFetchModels(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
