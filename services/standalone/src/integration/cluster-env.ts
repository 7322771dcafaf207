import { INFRA } from './cluster';

/**
 * The environment of every service of an integration cluster: the real adapters, each of which
 * can be pointed back at its embedded twin to isolate a fault.
 */
export const clusterEnv = (
  models: { clipModelDir: string; captionModelDir: string },
  adapters: { encoder?: 'onnx' | 'triton'; index?: 'embedded' | 'qdrant' } = {},
): NodeJS.ProcessEnv => ({
  ADSEED_BUS: 'kafka',
  KAFKA_BROKERS: INFRA.kafka,
  ADSEED_STORE: 'minio',
  MINIO_ENDPOINT: INFRA.minio.endPoint,
  MINIO_PORT: String(INFRA.minio.port),
  MINIO_ACCESS_KEY: INFRA.minio.accessKey,
  MINIO_SECRET_KEY: INFRA.minio.secretKey,
  ADSEED_STORAGE_NOTIFY_ARN: INFRA.notifyArn,
  ADSEED_ENCODER: process.env.ADSEED_IT_ENCODER ?? adapters.encoder ?? 'onnx',
  TRITON_ENDPOINTS: INFRA.kserve,
  ADSEED_INDEX: process.env.ADSEED_IT_INDEX ?? adapters.index ?? 'embedded',
  QDRANT_URL: INFRA.qdrant,
  ADSEED_CLIP_MODEL_DIR: models.clipModelDir,
  ADSEED_CAPTION_MODEL_DIR: models.captionModelDir,
  LOG_LEVEL: 'info',
});
