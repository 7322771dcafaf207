// Lint for the whole monorepo (`npm run lint`, and a stage of `npm test`).
// - TypeScript under libs/*/src and services/*/src, and beside them in each workspace's bench/,
//   tools/ and test/ (compiled by their own tsconfig, never shipped): typescript-eslint's type-aware recommended set,
//   with the two checks we care most about made errors: no floating promises, exhaustive switches.
// - libs/contracts: no `any` at all (it is the shared vocabulary of every service).
// - Boundaries (eslint-plugin-boundaries): a service imports libs and its own files, never another
//   service (by package name or by relative path); a lib never imports a service. Only
//   services/standalone, the one-process product that composes every service, may import them.
// - Plain JavaScript (scripts, the web UI, the Docker health check): eslint's recommended set.
// Formatting is prettier's job, not eslint's: no stylistic rules here.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Test code: specs beside the code, shared contract suites, benches, the e2e and integration suites.
const TEST_FILES = [
  '**/*.spec.ts',
  '**/*.contract.ts',
  '**/*.bench.ts',
  '*/*/bench/**/*.ts',
  '*/*/test/**/*.ts',
  'services/standalone/src/e2e/**/*.ts',
  'services/standalone/src/integration/**/*.ts',
  'libs/testing/src/**/*.ts',
];
const LIBS = readdirSync(new URL('./libs', import.meta.url));

/** A workspace's TypeScript: the product in src/, and what is not shipped (bench/, tools/, test/). */
const WORKSPACE_TS = ['libs', 'services'].flatMap((dir) => ['src', 'bench', 'tools', 'test'].map((part) => `${dir}/*/${part}/**/*.ts`));

/** The boundary rule alone, exported for scripts/lint-boundaries.test.mjs. */
export const boundaryRules = {
  files: WORKSPACE_TS,
  plugins: { boundaries },
  settings: {
    'import/resolver': { node: { extensions: ['.ts', '.js', '.json'] } },
    'boundaries/dependency-nodes': ['import', 'export', 'require', 'dynamic-import'],
    'boundaries/include': [...WORKSPACE_TS.map((glob) => glob.replace(/\*\*\/\*\.ts$/, '**')), 'node_modules/@adseed/**'],
    'boundaries/elements': [
      { type: 'service', pattern: 'services/*', capture: ['name'] },
      { type: 'lib', pattern: 'libs/*', capture: ['name'] },
      // `@adseed/<name>` resolves through the workspace symlink in node_modules
      { type: 'package', pattern: 'node_modules/@adseed/*', capture: ['name'] },
    ],
  },
  rules: {
    'boundaries/dependencies': [
      'error',
      {
        default: 'disallow',
        checkAllOrigins: true,
        policies: [
          // npm packages and node's core modules; our own packages are judged by the policies below
          { allow: { to: { module: { origin: ['external', 'core'], source: '!@adseed/*' } } } },
          { from: { element: { type: 'lib' } }, allow: { to: { element: { type: 'lib' } } } },
          { from: { element: { type: 'lib' } }, allow: { to: { element: { type: 'package', captured: { name: LIBS } } } } },
          {
            from: { element: { type: 'service' } },
            allow: [
              { to: { element: { type: 'lib' } } },
              { to: { element: { type: 'package', captured: { name: LIBS } } } },
              { to: { element: { type: 'service', captured: { name: '{{ from.element.captured.name }}' } } } },
              { to: { element: { type: 'package', captured: { name: '{{ from.element.captured.name }}' } } } },
            ],
          },
          // the one-process product composes every service
          {
            from: { element: { type: 'service', captured: { name: 'standalone' } } },
            allow: { to: { element: { types: ['service', 'package'] } } },
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.data/**', 'coverage/**', 'test-results/**', '**/*.d.ts'],
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true, caughtErrors: 'none' }],
    },
  },
  {
    files: ['services/gateway/public/**/*.js'],
    // The page loads them as <script type="module">.
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    files: WORKSPACE_TS,
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true, caughtErrors: 'none' }],
      // Our async methods implement promise-returning ports; `async` turns a throw into a rejection,
      // which is what callers of a port expect, even where the body has nothing to await.
      '@typescript-eslint/require-await': 'off',
      // Rethrowing what was caught, or an AbortSignal's reason, as it is.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    // Tests: node:test's describe/it return promises the runner itself tracks. The e2e suites read
    // the API's JSON bodies untyped on purpose (the assertions are the check), so `any` is allowed
    // in test code, and only there.
    files: TEST_FILES,
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests compare methods by identity and hand them to assertions.
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/contracts/src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  boundaryRules,
);
