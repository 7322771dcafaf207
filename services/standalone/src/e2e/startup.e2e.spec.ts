import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../adseed.app';
import { unusedPort } from '@adseed/testing';

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Runs a built entry point with only the given variables (none inherited from this shell's ADSEED_*). */
function run(main: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, main)], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, stdout }));
  });
}

const listed = (exit: Exit, variable: string) => new RegExp(`^  - ${variable.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm').test(exit.stderr);

describe('start-up failures exit with a code and a reason, never an unhandled rejection', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'adseed-startup-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  const cases: { main: string; env: Record<string, string>; problems: string[] }[] = [
    { main: 'services/retrieval/dist/main.js', env: { ADSEED_INDEX: 'qdrant', PORT: 'eighty' }, problems: ['PORT', 'QDRANT_URL', 'ADSEED_BUS'] },
    {
      main: 'services/embedding/dist/main.js',
      env: { ADSEED_ENCODER: 'triton', LOG_LEVEL: 'loud' },
      problems: ['LOG_LEVEL', 'TRITON_ENDPOINTS', 'ADSEED_BUS'],
    },
    {
      main: 'services/generation/dist/main.js',
      env: { ADSEED_BUS: 'kafka', ADSEED_GENERATOR: 'replicate', ADSEED_AD_SIZE: '10' },
      problems: ['ADSEED_AD_SIZE', 'REPLICATE_API_TOKEN'],
    },
    {
      main: 'services/agent/dist/main.js',
      env: { ADSEED_LLM: 'openai', ADSEED_STORE: 'minio' },
      problems: ['OPENAI_API_KEY', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'ADSEED_BUS'],
    },
    {
      main: 'services/gateway/dist/main.js',
      env: { ADSEED_BUS: 'kafka', KAFKA_SASL_MECHANISM: 'plain', ADSEED_STORAGE_NOTIFY_ARN: 'arn:minio:sqs::ADSEED:kafka', ADSEED_API_KEYS: 'no-tenant' },
      problems: ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'ADSEED_STORAGE_NOTIFY_ARN', 'ADSEED_API_KEYS'],
    },
    {
      // npm start: its own settings and every service's, through the same schemas
      main: 'services/standalone/dist/main.js',
      env: { PORT: '-1', ADSEED_BUS_FSYNC: 'sometimes', ADSEED_FLOOR_CLIP: '2', ADSEED_GENERATOR: 'replicate', ADSEED_RATE_LIMIT_BURST: '0' },
      problems: ['PORT', 'ADSEED_BUS_FSYNC', 'ADSEED_FLOOR_CLIP', 'REPLICATE_API_TOKEN', 'ADSEED_RATE_LIMIT_BURST'],
    },
  ];
  for (const { main, env, problems } of cases) {
    it(`${main}: exit 78 listing ${problems.join(', ')}`, async () => {
      const exit = await run(main, { ...env, ADSEED_DATA_DIR: dataDir });
      assert.equal(exit.code, 78, exit.stderr);
      assert.match(exit.stderr, new RegExp(`invalid configuration \\(${problems.length} problems?\\)`), exit.stderr);
      for (const variable of problems) assert.ok(listed(exit, variable), `${variable} not listed in:\n${exit.stderr}`);
      assert.doesNotMatch(exit.stderr, /\n\s+at /, 'no stack trace');
      assert.doesNotMatch(exit.stderr, /Unhandled|UnhandledPromiseRejection/);
    });
  }

  it('a dependency that refuses at start-up (MinIO) exits 69 with one log line holding the stack and cause', async () => {
    const exit = await run('services/gateway/dist/main.js', {
      ADSEED_BUS: 'kafka',
      KAFKA_BROKERS: `127.0.0.1:${await unusedPort()}`,
      ADSEED_STORE: 'minio',
      MINIO_ENDPOINT: '127.0.0.1',
      MINIO_PORT: String(await unusedPort()),
      MINIO_ACCESS_KEY: 'adseed',
      MINIO_SECRET_KEY: 'never-logged-secret',
      ADSEED_DATA_DIR: dataDir,
      PORT: '0',
    });
    assert.equal(exit.code, 69, exit.stderr);
    const failure = exit.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; level: string; error?: { stack?: string; code?: string } })
      .find((l) => l.msg === 'gateway failed to start');
    assert.ok(failure, exit.stderr);
    assert.equal(failure.level, 'error');
    assert.equal(failure.error?.code, 'ECONNREFUSED');
    assert.match(failure.error?.stack ?? '', /\n\s+at /);
    assert.doesNotMatch(exit.stderr + exit.stdout, /never-logged-secret/);
    assert.doesNotMatch(exit.stderr, /Unhandled/);
  });
});

describe('npm start stops on a signal only after every service has closed', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: exit 0 (not killed by a signal re-raised once the gateway alone had closed)`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'adseed-stop-'));
      try {
        const child = spawn(process.execPath, [join(REPO_ROOT, 'services/standalone/dist/main.js')], {
          cwd: REPO_ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ADSEED_DATA_DIR: dataDir, ADSEED_DEMO_LIBRARY: '', PORT: '0' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        const running = new Promise<void>((resolve, reject) => {
          const look = (chunk: Buffer) => {
            output += chunk.toString();
            if (output.includes('adseed is running at')) resolve();
          };
          child.stdout.on('data', look);
          child.stderr.on('data', look);
          child.on('exit', () => reject(new Error(`exited before it was running:\n${output}`)));
        });
        const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
        await running;
        child.kill(signal);
        const [code, killedBy] = await exited;
        // app.close() resolved (all five services, the bus's journal), then process.exit(0). Before,
        // the gateway's own Nest shutdown hook re-raised the signal after closing the gateway alone.
        assert.deepEqual({ code, killedBy }, { code: 0, killedBy: null }, output.slice(-2_000));
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});
