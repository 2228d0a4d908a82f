/**
 * One TCP port for both protocols, as Google's emulator serves them: a connection that opens with the HTTP/2
 * connection preface (gRPC clients speak HTTP/2 with prior knowledge) goes to the gRPC server, anything else to
 * the HTTP/1.1 handler. The bytes read to decide are put back before the connection is handed over.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'http';
import * as net from 'net';

const HTTP2_PREFACE_START = Buffer.from('PRI * HTTP/2.0', 'latin1');

export interface OnePortListener {
  host: string;
  port: number;
  close(): Promise<void>;
}

export function listenOnOnePort(host: string, port: number, grpcServer: grpc.Server, handleHttp1: http.RequestListener): Promise<OnePortListener> {
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const http1 = http.createServer(handleHttp1);
  const sockets = new Set<net.Socket>();

  const route = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
    });
    let received = Buffer.alloc(0);
    const onError = (): void => {
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const compared = received.subarray(0, HTTP2_PREFACE_START.length);
      const couldBeHttp2 = compared.equals(HTTP2_PREFACE_START.subarray(0, compared.length));
      if (couldBeHttp2 && received.length < HTTP2_PREFACE_START.length) return;
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(received);
      if (couldBeHttp2) {
        // The HTTP/2 session reads what is already buffered on the socket before its own reads.
        injector.injectConnection(socket);
      } else {
        http1.emit('connection', socket);
        // The HTTP/1.1 parser takes the buffered bytes through 'data' events, which a paused socket holds back.
        socket.resume();
      }
    };
    socket.on('error', onError);
    socket.on('data', onData);
  };

  // Small gRPC frames must not wait for Nagle's algorithm.
  const server = net.createServer({ noDelay: true }, route);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        host,
        port: address.port,
        close: () =>
          new Promise<void>((closed) => {
            server.close(() => closed());
            grpcServer.forceShutdown();
            http1.close();
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
