/**
 * What the in-process bus's journal costs: publish → consume throughput and the latency of one
 * `publish`, memory only against each fsync policy, for a small event (an ingest request) and
 * the biggest one we send (an embedded asset: 512 + 384 floats). Nothing is asserted; run
 *
 *   node libs/messaging/bench/dist/in-process.journal.bench.js [dir on the disk to measure]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { InProcessBroker, InProcessEventBus, type FsyncPolicy } from '@adseed/messaging';

const Small = defineTopic(
  'bench.journal-small.happened.v1',
  z.object({ assetId: z.string(), path: z.string(), caption: z.string(), tags: z.array(z.string()) }),
  16,
);
const Large = defineTopic('bench.journal-large.happened.v1', z.object({ assetId: z.string(), clip: z.array(z.number()), caption: z.array(z.number()) }), 6);

export interface JournalBenchRow {
  mode: string;
  event: 'small' | 'large';
  messages: number;
  /** Published and consumed (handler done), per second. */
  throughputPerSec: number;
  publishP50Us: number;
  publishP99Us: number;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function runOne(mode: 'memory' | FsyncPolicy, event: 'small' | 'large', messages: number, baseDir: string): Promise<JournalBenchRow> {
  const dir = mkdtempSync(join(baseDir, 'adseed-journal-bench-'));
  const logger = new Logger({ service: 'bench', level: 'error', sink: () => undefined });
  const broker = new InProcessBroker(mode === 'memory' ? {} : { journal: { dir, fsync: mode }, logger });
  const bus = new InProcessEventBus({ source: 'bench', broker, logger });
  const random = (n: number) => Array.from({ length: n }, () => Math.random() * 2 - 1);
  const large = { clip: random(512), caption: random(384) };
  let consumed = 0;
  const topic = event === 'small' ? Small : Large;
  await bus.subscribe(topic as typeof Small, { group: 'bench' }, async () => void consumed++);
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    const assetId = `asset-${i}`;
    const t0 = process.hrtime.bigint();
    if (event === 'small') {
      await bus.publish(Small, {
        key: assetId,
        value: { assetId, path: `seeds/demo/${assetId}/photo.jpg`, caption: 'red running shoes on a beach at sunset', tags: ['running shoes', 'outdoor'] },
      });
    } else {
      await bus.publish(Large, { key: assetId, value: { assetId, ...large } });
    }
    latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await broker.whenIdle();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await bus.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
  if (consumed !== messages) throw new Error(`consumed ${consumed} of ${messages}`);
  return { mode, event, messages, throughputPerSec: messages / seconds, publishP50Us: percentile(latencies, 50), publishP99Us: percentile(latencies, 99) };
}

export async function benchJournal(options: { dir?: string; small?: number; large?: number; rounds?: number } = {}): Promise<JournalBenchRow[]> {
  const baseDir = options.dir ?? tmpdir();
  const rows: JournalBenchRow[] = [];
  for (const event of ['small', 'large'] as const) {
    const messages = event === 'small' ? (options.small ?? 20_000) : (options.large ?? 3_000);
    await runOne('memory', event, Math.min(messages, 1_000), baseDir); // warm-up
    // Modes interleaved over rounds, the median round reported: one noisy run moves nothing.
    const runs = new Map<string, JournalBenchRow[]>();
    for (let round = 0; round < (options.rounds ?? 3); round++) {
      for (const mode of ['memory', 'never', 'interval', 'always'] as const) {
        // 'always' fsyncs every message: fewer of them, or it takes minutes.
        const row = await runOne(mode, event, mode === 'always' ? Math.min(messages, 1_000) : messages, baseDir);
        runs.set(mode, [...(runs.get(mode) ?? []), row]);
      }
    }
    for (const modeRuns of runs.values()) rows.push([...modeRuns].sort((a, b) => a.throughputPerSec - b.throughputPerSec)[Math.floor(modeRuns.length / 2)]);
  }
  return rows;
}

if (require.main === module) {
  benchJournal({ dir: process.argv[2] })
    .then((rows) => {
      for (const r of rows) {
        process.stdout.write(
          `${r.event.padEnd(6)} ${r.mode.padEnd(9)} ${String(r.messages).padStart(6)} msgs  ${r.throughputPerSec.toFixed(0).padStart(7)} msg/s  publish p50 ${r.publishP50Us.toFixed(0)} µs  p99 ${r.publishP99Us.toFixed(0)} µs\n`,
        );
      }
    })
    .catch((error: Error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    });
}
