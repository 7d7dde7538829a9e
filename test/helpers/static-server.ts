import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Paths requested so far, in order (e.g. `/2.root.json`). */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * Serves a directory over HTTP on loopback (a TUF mirror as a client sees it): GET only, 404 for
 * anything missing or outside the directory. Files are read on every request, so a test can change
 * the directory between requests.
 */
export async function serveDirectory(directory: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    requests.push(path);
    const file = normalize(join(directory, path));
    if (request.method !== 'GET' || !file.startsWith(directory + sep)) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      response.writeHead(200, { 'content-length': body.length }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections(); // the connections a client keeps open too, not only the idle ones
      }),
  };
}
