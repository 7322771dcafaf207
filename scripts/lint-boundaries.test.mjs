// The boundary rule of eslint.config.mjs, checked on probe sources: it must reject a service
// importing another service (by package name or by relative path) and a lib importing a service,
// and accept what the codebase does (libs, a service's own files, standalone composing services).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { boundaryRules } from '../eslint.config.mjs';

const eslint = new ESLint({
  cwd: new URL('..', import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, boundaryRules],
});

async function violations(filePath, code) {
  const [result] = await eslint.lintText(code, { filePath });
  assert.deepEqual(
    result.messages.filter((m) => m.ruleId !== 'boundaries/dependencies'),
    [],
    'the probe parses',
  );
  return result.messages.map((m) => m.line);
}

describe('boundary rule', () => {
  it('rejects a service importing another service, by package or by path', async () => {
    const code = ["import { a } from '@adseed/gateway';", "import { b } from '../../gateway/src/index';", 'export { a, b };'].join('\n');
    assert.deepEqual(await violations('services/agent/src/probe.ts', code), [1, 2]);
  });

  it('rejects require() and dynamic import() of another service', async () => {
    const code = ["const a = require('@adseed/retrieval');", "export const b = import('@adseed/generation');", 'export { a };'].join('\n');
    assert.deepEqual(await violations('services/embedding/src/deep/probe.ts', code), [1, 2]);
  });

  it('rejects a lib importing a service', async () => {
    const code = ["import { a } from '@adseed/agent';", "import { b } from '../../../services/agent/src/index';", 'export { a, b };'].join('\n');
    assert.deepEqual(await violations('libs/config/src/probe.ts', code), [1, 2]);
  });

  it("accepts libs, npm and core modules, and a service's own files", async () => {
    const code = [
      "import { readFileSync } from 'node:fs';",
      "import { z } from 'zod';",
      "import { a } from '@adseed/contracts';",
      "import { b } from '../../../libs/config/src/index';",
      "import { c } from './controllers';",
      "import { d } from '@adseed/gateway';",
      'export { readFileSync, z, a, b, c, d };',
    ].join('\n');
    assert.deepEqual(await violations('services/gateway/src/probe.ts', code), []);
  });

  it('holds for what a workspace keeps beside src (bench/, tools/, test/): its own package yes, another service no', async () => {
    const own = [
      "import { a } from '@adseed/generation';",
      "import { b } from '@adseed/generation/dist/fidelity/product-fidelity';",
      "import { c } from '@adseed/contracts';",
      'export { a, b, c };',
    ].join('\n');
    assert.deepEqual(await violations('services/generation/bench/probe.bench.ts', own), []);
    const other = ["import { a } from '@adseed/retrieval';", "import { b } from '../../gateway/src/index';", 'export { a, b };'].join('\n');
    assert.deepEqual(await violations('services/embedding/tools/probe.ts', other), [1, 2]);
    assert.deepEqual(await violations('libs/messaging/test/probe.ts', "import { a } from '@adseed/agent';\nexport { a };"), [1]);
  });

  it('lets standalone, the one-process product, compose every service', async () => {
    const code = ["import { a } from '@adseed/agent';", "import { b } from '../../gateway/src/index';", 'export { a, b };'].join('\n');
    assert.deepEqual(await violations('services/standalone/src/probe.ts', code), []);
  });
});
