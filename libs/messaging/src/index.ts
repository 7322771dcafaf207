export * from './event-bus.port';
export * from './envelope';
export * from './delivery';
export * from './in-process.journal';
export * from './in-process.broker';
export * from './in-process.bus';
export * from './kafka.bus';
export { fixKafkajsIdleLoop } from './kafkajs-idle-loop';
