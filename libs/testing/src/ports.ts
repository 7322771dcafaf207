import { createServer, type AddressInfo } from 'node:net';

/**
 * A local TCP port that nothing listens on: bound on 127.0.0.1, then released. Use it for a server
 * a test starts (free to bind) or as an address that refuses connections (a dependency that is down).
 */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
