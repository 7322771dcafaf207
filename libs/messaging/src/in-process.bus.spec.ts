import { Logger } from '@adseed/telemetry';
import { describeEventBusContract } from './event-bus.contract';
import { InProcessBroker } from './in-process.broker';
import { InProcessEventBus } from './in-process.bus';

const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

describeEventBusContract('InProcessEventBus', async () => {
  const broker = new InProcessBroker();
  return {
    bus: (source) => new InProcessEventBus({ source, broker, logger: quiet, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } }),
    read: async (topic) => broker.read(topic),
    cleanup: async () => undefined,
  };
});
