export * from './object-store.port';
export * from './fs.object-store';
export * from './minio.object-store';
