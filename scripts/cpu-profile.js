'use strict';
/**
 * CPU profiles of running adseed processes, for a window you choose: preload it into every service
 * (Node 20's `NODE_OPTIONS` takes `--require`, not `--cpu-prof`), then create `<dir>/on` to start profiling
 * and delete it to stop; each process then writes `<dir>/<service>-<pid>-<n>.cpuprofile` (open it
 * in Chrome DevTools or VS Code). A file, not a signal: NestJS's `enableShutdownHooks()` shuts a
 * service down on SIGUSR2 (and most other signals), and Node keeps SIGUSR1 for its debugger.
 *
 *   ADSEED_CPU_PROFILE_DIR=/tmp/prof NODE_OPTIONS="--require $PWD/scripts/cpu-profile.js" \
 *     BENCH_CLUSTER_STACK=local node scripts/bench.js --only cluster
 *   touch /tmp/prof/on   # … the window to profile …   rm /tmp/prof/on
 *
 * Without ADSEED_CPU_PROFILE_DIR it does nothing; worker threads are not profiled (their CPU is in
 * the bench's per-thread rows). The sampling interval is 500 µs
 * (ADSEED_CPU_PROFILE_INTERVAL_US); samples are wall-clock, so a process that waits for a core
 * shows the function it was preempted in.
 */
const inspector = require('node:inspector');
const { existsSync, writeFileSync } = require('node:fs');
const { basename, dirname, join } = require('node:path');
const { isMainThread } = require('node:worker_threads');

const dir = process.env.ADSEED_CPU_PROFILE_DIR;
// Worker threads load preloads too (the encoders', the image guardrail's): the main thread only.
if (dir && isMainThread) {
  const session = new inspector.Session();
  session.connect();
  // services/<name>/dist/main.js → <name>; anything else → the script's own name
  const script = process.argv[1] ?? 'node';
  const name = basename(dirname(script)) === 'dist' ? basename(dirname(dirname(script))) : basename(script, '.js');
  const interval = Number(process.env.ADSEED_CPU_PROFILE_INTERVAL_US ?? 500);
  let profiling = false;
  let written = 0;
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval }));
  setInterval(() => {
    const wanted = existsSync(join(dir, 'on'));
    if (wanted && !profiling) {
      session.post('Profiler.start');
      profiling = true;
    } else if (!wanted && profiling) {
      profiling = false;
      session.post('Profiler.stop', (error, result) => {
        if (error) return void process.stderr.write(`cpu-profile: ${error.message}\n`);
        writeFileSync(join(dir, `${name}-${process.pid}-${written++}.cpuprofile`), JSON.stringify(result.profile));
      });
    }
  }, 100).unref();
}
