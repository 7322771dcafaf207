/**
 * A child process for the kill -9 test (`in-process.journal.spec.ts`): a two-stage pipeline on a
 * journalled in-process broker, like ingest → embedded → indexed. Stage one turns each `job`
 * into a `step` after a pause; stage two records the job id in a file (idempotent: a set).
 *
 *   node journal-crash.child.js <journal dir> <done file> <jobs to publish> <ms per job>
 *
 * Tells its parent `{ published }` once every job is published, then `{ done }` after each
 * recorded job; the parent kills it with SIGKILL whenever it likes.
 */
import { appendFileSync } from 'node:fs';
import { defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { InProcessBroker, InProcessEventBus } from '@adseed/messaging';

export const CrashJobs = defineTopic('test.crash-job.requested.v1', z.object({ id: z.number().int() }), 4);
export const CrashSteps = defineTopic('test.crash-job.stepped.v1', z.object({ id: z.number().int() }), 2);

async function main(): Promise<void> {
  const [dir, doneFile, jobsArg, msArg] = process.argv.slice(2);
  const jobs = Number(jobsArg);
  const msPerJob = Number(msArg);
  const logger = new Logger({ service: 'crash-child', level: 'warn', sink: (line) => process.stderr.write(line + '\n') });
  const broker = new InProcessBroker({ journal: { dir }, logger });
  const bus = new InProcessEventBus({ source: 'crash-child', broker, logger });
  await bus.subscribe(CrashJobs, { group: 'stage-one' }, async (m) => {
    await new Promise((resolve) => setTimeout(resolve, msPerJob));
    await bus.publish(CrashSteps, { key: String(m.value.id), value: { id: m.value.id } });
  });
  let done = 0;
  await bus.subscribe(CrashSteps, { group: 'stage-two' }, async (m) => {
    appendFileSync(doneFile, `${m.value.id}\n`);
    process.send?.({ done: ++done });
  });
  for (let id = 0; id < jobs; id++) await bus.publish(CrashJobs, { key: String(id), value: { id } });
  process.send?.({ published: jobs });
}

main().catch((error: Error) => {
  process.stderr.write(`crash child failed: ${error.stack}\n`);
  process.exit(1);
});
