/**
 * A TCP relay between a client and the server whose connections the test can
 * cut, the way a load balancer restart or a network fault drops them.
 */
import { connect, createServer, type AddressInfo, type Socket } from "node:net";

export interface Relay {
  address: string;
  /** Connections accepted so far. */
  connections: number;
  /** Drops every open connection, both ways; new ones are still accepted. */
  cut(): void;
  close(): Promise<void>;
}

export async function relay(upstream: string): Promise<Relay> {
  const [host = "", port = ""] = upstream.split(/:(?=\d+$)/);
  const open = new Set<Socket>();
  const state = { connections: 0 };
  const server = createServer((inbound) => {
    state.connections += 1;
    const outbound = connect(Number(port), host);
    for (const socket of [inbound, outbound]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => { inbound.destroy(); outbound.destroy(); });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port: listening } = server.address() as AddressInfo;
  const cut = (): void => {
    for (const socket of open) socket.destroy();
  };
  return {
    address: `127.0.0.1:${listening}`,
    get connections() {
      return state.connections;
    },
    cut,
    close() {
      cut();
      return new Promise((done) => server.close(() => { done(); }));
    },
  };
}
