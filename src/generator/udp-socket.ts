import type { Socket } from "node:dgram";

/**
 * Binds a generator's UDP socket (port 0: any) and, with `connectTo`, connects it; rejects with the
 * socket's error if either fails. Later errors are the caller's (generators count them as send errors).
 */
export function bindSocket(
  socket: Socket,
  address: string | undefined,
  port: number,
  connectTo?: { host: string; port: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address, port }, () => {
      const done = () => {
        socket.off("error", reject);
        resolve();
      };
      if (connectTo) socket.connect(connectTo.port, connectTo.host, done);
      else done();
    });
  });
}
