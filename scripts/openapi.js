#!/usr/bin/env node
// Writes docs/openapi.json: the gateway's OpenAPI document, generated from its controllers'
// decorators (@nestjs/swagger) and the contracts' zod schemas (nestjs-zod), exactly as the gateway
// serves it at /docs/openapi.json. `--check` fails if the committed copy is stale (CI runs the
// check, so the spec in the repo always matches the code).
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { buildOpenApiDocument } = require('../services/gateway/dist');

const file = join(__dirname, '..', 'docs', 'openapi.json');

async function main() {
  const fresh = JSON.stringify(await buildOpenApiDocument(), null, 2) + '\n';
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch {
      /* no committed spec yet: stale */
    }
    if (committed !== fresh) {
      console.error('docs/openapi.json is stale: run `npm run openapi` and commit the result');
      process.exit(1);
    }
    console.log('docs/openapi.json is up to date');
  } else {
    writeFileSync(file, fresh);
    console.log(`wrote ${file}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
