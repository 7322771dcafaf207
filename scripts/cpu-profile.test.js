'use strict';
// scripts/cpu-profile.js: a process preloaded with it writes a CPU profile of the window in which
// <dir>/on existed, and does not keep it alive (the process exits by itself).
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { describe, it } = require('node:test');

const preload = join(__dirname, 'cpu-profile.js');
// Says it is running (the preload ran before it), is busy for a while in a named function the
// profile must show, then exits by itself.
const busy = `require('node:fs').writeFileSync(require('node:path').join(process.env.ADSEED_CPU_PROFILE_DIR, 'ready'), '');
function spinForProfile() { const end = Date.now() + 40; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
const t = setInterval(spinForProfile, 50); setTimeout(() => clearInterval(t), 2500);`;

const run = (env) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', busy], { env: { ...process.env, ...env, NODE_OPTIONS: `--require ${preload}` }, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
const until = async (what, predicate, timeoutMs = 10_000) => {
  for (const end = Date.now() + timeoutMs; !predicate();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('scripts/cpu-profile.js', () => {
  it('profiles the window in which <dir>/on exists and writes one .cpuprofile when it goes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adseed-cpu-profile-'));
    try {
      const exited = run({ ADSEED_CPU_PROFILE_DIR: dir });
      await until('the child running', () => existsSync(join(dir, 'ready')));
      writeFileSync(join(dir, 'on'), '');
      await new Promise((r) => setTimeout(r, 800));
      rmSync(join(dir, 'on'));
      await until('a profile', () => readdirSync(dir).some((f) => f.endsWith('.cpuprofile')));
      assert.equal(await exited, 0);
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      assert.equal(files.length, 1, files.join(', '));
      assert.match(files[0], /^[\w.[\]-]+-\d+-0\.cpuprofile$/);
      const profile = JSON.parse(readFileSync(join(dir, files[0]), 'utf8'));
      assert.ok(profile.samples.length > 100, `${profile.samples.length} samples`);
      const spanMs = (profile.endTime - profile.startTime) / 1000;
      // The window was 800 ms, seen by a 100 ms poll; the child runs 2.5 s in all.
      assert.ok(spanMs > 300 && spanMs < 2_000, `the profile covers the window only (${spanMs} ms)`);
      assert.ok(
        profile.nodes.some((n) => n.callFrame.functionName === 'spinForProfile'),
        'the busy function is in the profile',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
