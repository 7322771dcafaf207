import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@adseed/telemetry';
import { describeEventBusContract } from './event-bus.contract';
import { InProcessBroker, type InProcessBrokerOptions } from './in-process.broker';
import { InProcessEventBus } from './in-process.bus';

const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

const harness = (options: InProcessBrokerOptions, cleanup: () => Promise<void>) => {
  const broker = new InProcessBroker(options);
  return {
    bus: (source: string) => new InProcessEventBus({ source, broker, logger: quiet, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } }),
    read: async (topic: string) => broker.read(topic),
    cleanup: async () => {
      await broker.close();
      await cleanup();
    },
  };
};

describeEventBusContract('InProcessEventBus (memory only)', async () => harness({}, async () => undefined));

describeEventBusContract('InProcessEventBus (journalled on disk)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'adseed-bus-contract-'));
  return harness({ journal: { dir }, logger: quiet }, async () => rmSync(dir, { recursive: true, force: true }));
});
