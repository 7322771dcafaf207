import { Client } from 'minio';
import { describeObjectStoreContract } from './object-store.contract';
import { MinioObjectStore } from './minio.object-store';

/** Against the real MinIO server that scripts/infra/minio.sh starts. */
const options = {
  endPoint: process.env.ADSEED_IT_MINIO_HOST ?? '127.0.0.1',
  port: Number(process.env.ADSEED_IT_MINIO_PORT ?? process.env.ADSEED_MINIO_PORT ?? 19000),
  useSSL: false,
  accessKey: process.env.MINIO_ROOT_USER ?? 'adseed',
  secretKey: process.env.MINIO_ROOT_PASSWORD ?? 'adseed-secret',
};

describeObjectStoreContract(`MinioObjectStore on a real MinIO (${options.endPoint}:${options.port})`, async () => ({
  store: new MinioObjectStore(options),
  cleanup: async (bucket) => {
    const client = new Client(options);
    const names: string[] = [];
    for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
    if (names.length) await client.removeObjects(bucket, names);
    await client.removeBucket(bucket);
  },
}));
