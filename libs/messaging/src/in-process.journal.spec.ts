import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { InProcessBroker } from './in-process.broker';
import { InProcessEventBus } from './in-process.bus';
import { decodeFrames, encodeFrame } from './in-process.journal';

const Thing = defineTopic('test.journal-thing.happened.v1', z.object({ n: z.number().int() }), 1);
const Spread = defineTopic('test.journal-spread.happened.v1', z.object({ n: z.number().int() }), 4);

async function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const never = () => new Promise<void>(() => undefined);

describe('InProcessBroker with a journal (durability)', () => {
  let dir: string;
  let warnings: string[];
  let logger: Logger;
  const open = (extra: { segmentBytes?: number } = {}) => new InProcessBroker({ journal: { dir, ...extra }, logger });
  const busOf = (broker: InProcessBroker) =>
    new InProcessEventBus({ source: 'test', broker, logger, retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 } });

  const committedOnDisk = (group: string): number[] | undefined => {
    try {
      const saved = JSON.parse(readFileSync(join(dir, 'offsets.json'), 'utf8')) as { groups: { group: string; offsets: number[] }[] };
      return saved.groups.find((g) => g.group === group)?.offsets;
    } catch {
      return undefined;
    }
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'adseed-journal-'));
    warnings = [];
    logger = new Logger({ service: 'test', level: 'warn', sink: (line) => warnings.push(line) });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('frames round-trip, and decoding stops at the first damaged frame', () => {
    const messages = [0, 1, 2].map((offset) => ({ offset: 10 + offset, key: `k${offset}`, value: `{"n":${offset}}`, headers: { a: 'b' }, timestamp: 1 }));
    const bytes = Buffer.concat(messages.map(encodeFrame));
    assert.deepEqual(decodeFrames(bytes, 10), { messages, validBytes: bytes.length });
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 3] ^= 0xff;
    const damaged = decodeFrames(flipped, 10);
    assert.deepEqual(damaged.messages, messages.slice(0, 2));
    assert.equal(damaged.damage, 'checksum mismatch');
    assert.equal(decodeFrames(bytes.subarray(0, bytes.length - 1), 10).messages.length, 2);
  });

  it('keeps every published message through a crash with nothing flushed', async () => {
    const first = open();
    for (let n = 0; n < 5; n++) await busOf(first).publish(Thing, { key: 'k', value: { n } });
    first.halt(); // no flush, no close: only what append wrote is on disk

    const second = open();
    const seen: number[] = [];
    await busOf(second).subscribe(Thing, { group: 'g' }, async (m) => void seen.push(m.value.n));
    await second.whenIdle();
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    await second.close();
  });

  it('after a crash, delivers again what was not committed and nothing that was', async () => {
    const first = open();
    const bus = busOf(first);
    const seen: number[] = [];
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await bus.subscribe(Thing, { group: 'g' }, async (m) => {
      seen.push(m.value.n);
      if (m.value.n === 2) await gate;
      if (m.value.n === 5) await never(); // the crash happens while this one is being handled
    });
    for (let n = 0; n < 10; n++) await bus.publish(Thing, { key: 'k', value: { n } });
    await until('offset 2 committed on disk', () => committedOnDisk('g')?.[0] === 2);
    release();
    await until('message 5 in its handler', () => seen.includes(5));
    // No explicit flush: the periodic one writes the commits of 0..4 by itself.
    await until('offset 5 committed on disk', () => committedOnDisk('g')?.[0] === 5);
    first.halt();

    const second = open();
    const again: number[] = [];
    await busOf(second).subscribe(Thing, { group: 'g' }, async (m) => void again.push(m.value.n));
    await second.whenIdle();
    assert.deepEqual(again, [5, 6, 7, 8, 9], 'the interrupted message and the ones after it, once each');

    const late: number[] = [];
    await busOf(second).subscribe(Thing, { group: 'late' }, async (m) => void late.push(m.value.n));
    await second.whenIdle();
    assert.deepEqual(late, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'a new group still reads everything retained');
    await second.close();

    const third = open();
    const none: number[] = [];
    await busOf(third).subscribe(Thing, { group: 'g' }, async (m) => void none.push(m.value.n));
    await third.whenIdle();
    assert.deepEqual(none, [], 'a clean close commits everything handled');
    await third.close();
  });

  it('ignores a torn last frame with a warning, and appends cleanly after it', async () => {
    const first = open();
    for (let n = 0; n < 3; n++) await busOf(first).publish(Thing, { key: 'k', value: { n } });
    first.halt();
    const partitionDir = join(dir, 'topics', Thing.name, '0');
    const [segment] = readdirSync(partitionDir);
    truncateSync(join(partitionDir, segment), statSync(join(partitionDir, segment)).size - 5);

    const second = open();
    assert.equal(warnings.filter((w) => /torn tail ignored/.test(w)).length, 1, warnings.join('\n'));
    const seen: number[] = [];
    const bus = busOf(second);
    await bus.subscribe(Thing, { group: 'g' }, async (m) => void seen.push(m.value.n));
    await bus.publish(Thing, { key: 'k', value: { n: 3 } });
    await second.whenIdle();
    assert.deepEqual(seen, [0, 1, 3]);
    assert.deepEqual(
      second.read(Thing.name).map((m) => m.offset),
      [0, 1, 2],
    );
    second.halt();

    warnings.length = 0;
    const third = open();
    const later: number[] = [];
    const bus3 = busOf(third);
    await bus3.subscribe(Thing, { group: 'late' }, async (m) => void later.push(m.value.n));
    await third.whenIdle();
    assert.deepEqual(later, [0, 1, 3]);
    assert.deepEqual(
      warnings.filter((w) => /torn|damaged/.test(w)),
      [],
    );
    await third.close();
  });

  it('a live group (new messages only) is not resumed after a restart and does not hold back retention', async () => {
    const first = open({ segmentBytes: 512 });
    const bus = busOf(first);
    await bus.subscribe(Thing, { group: 'durable' }, async () => undefined);
    // The live group is stuck on its first message until it leaves (close() waits for the message in hand).
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const live = await bus.subscribe(Thing, { group: 'live', fromBeginning: false }, () => stuck);
    for (let n = 0; n < 50; n++) await bus.publish(Thing, { key: 'k', value: { n } });
    await until('the durable group is done', () => first.lag(Thing.name, 'durable') === 0);
    const leaving = live.close();
    release();
    await leaving;
    await first.close();
    const offsets = JSON.parse(readFileSync(join(dir, 'offsets.json'), 'utf8')) as { groups: { group: string }[] };
    assert.deepEqual(
      offsets.groups.map((g) => g.group),
      ['durable'],
    );
  });

  it('deletes segments every durable group has consumed, and keeps what one has not', async () => {
    const broker = open({ segmentBytes: 1024 });
    const bus = busOf(broker);
    const slow = await bus.subscribe(Spread, { group: 'slow' }, never);
    await slow.close(); // a durable group that left at the start: it holds everything
    let handled = 0;
    await bus.subscribe(Spread, { group: 'fast' }, async () => void handled++);
    for (let n = 0; n < 400; n++) await bus.publish(Spread, { key: `k${n}`, value: { n } });
    await until('all handled', () => handled === 400);
    await broker.flush();
    const held = broker.journalSize(Spread.name)!;
    assert.ok(held.segments > 8, `${held.segments} segments kept for the slow group`);

    await bus.subscribe(Spread, { group: 'slow' }, async () => undefined);
    await broker.whenIdle();
    await broker.flush();
    const after = broker.journalSize(Spread.name)!;
    assert.ok(after.segments <= 4 && after.bytes <= 4 * 1024, `${after.segments} segments, ${after.bytes} bytes left`);
    const onDisk = [0, 1, 2, 3].flatMap((p) => readdirSync(join(dir, 'topics', Spread.name, String(p))));
    assert.equal(onDisk.length, after.segments);
    await broker.close();

    const reopened = open({ segmentBytes: 1024 });
    const seen: number[] = [];
    await busOf(reopened).subscribe(Spread, { group: 'fast' }, async (m) => void seen.push(m.value.n));
    await reopened.whenIdle();
    assert.deepEqual(seen, []);
    await reopened.close();
  });

  it('a process killed with SIGKILL mid-pipeline loses no event: after a restart every job is processed', { timeout: 120_000 }, async () => {
    const child = join(__dirname, '..', 'test', 'dist', 'journal-crash.child.js');
    const doneFile = join(dir, 'done.txt');
    const journal = join(dir, 'journal');
    const jobs = 60;
    const run = (publish: number, killAfterDone?: number) =>
      new Promise<{ killed: boolean; done: number }>((resolve, reject) => {
        const proc = fork(child, [journal, doneFile, String(publish), '25'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let done = 0;
        let published = publish === 0;
        proc.on('message', (m: { done?: number; published?: number }) => {
          if (m.published !== undefined) published = true;
          if (m.done !== undefined) done = m.done;
          if (killAfterDone !== undefined && published && done >= killAfterDone) proc.kill('SIGKILL');
        });
        // The second run ends by itself once idle (nothing keeps its event loop alive).
        proc.on('error', reject);
        proc.on('exit', (_code, signal) => resolve({ killed: signal === 'SIGKILL', done }));
      });
    const processed = () => new Set(existsSync(doneFile) ? readFileSync(doneFile, 'utf8').split('\n').filter(Boolean).map(Number) : []);

    const crashed = await run(jobs, 10);
    assert.ok(crashed.killed);
    const before = processed().size;
    assert.ok(before >= 10 && before < jobs, `killed mid-way (${before} of ${jobs} processed)`);

    await run(0);
    assert.deepEqual(
      [...processed()].sort((a, b) => a - b),
      Array.from({ length: jobs }, (_, i) => i),
    );
  });
});
