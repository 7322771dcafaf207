import { join } from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { HEALTH_PROTO, PROTO_DIR } from './grpc.wire';

/** A plain grpc.health.v1 client, as a kubelet or grpc-health-probe would speak to a query server (specs only). */
export function healthClient(port: number): Client {
  const definition = loadSync(join(PROTO_DIR, HEALTH_PROTO), { enums: String, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => Client } } };
  };
  return new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
}

/** `Check` for one service name ('' = the whole server); resolves to the serving status, e.g. `SERVING`. */
export function check(client: Client, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    (client as unknown as { Check(req: object, cb: (e: GrpcError | null, r?: { status: string }) => void): void }).Check({ service }, (error, res) =>
      error ? reject(error) : resolve(res!.status),
    ),
  );
}
