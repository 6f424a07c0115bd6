/** Ports for the servers the harness starts, on 127.0.0.1. */
import net from 'node:net';

export const HOST = '127.0.0.1';

/** A port the kernel considers free right now (another process may still take it before it is bound). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on HOST right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** The preferred port when it is free, else any free one (0: any free one). */
export async function preferredPort(preferred: number): Promise<number> {
  return preferred !== 0 && (await canBind(preferred)) ? preferred : freePort();
}
