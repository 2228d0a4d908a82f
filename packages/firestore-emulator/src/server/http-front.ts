/**
 * Every HTTP/1.1 request on the port passes here first:
 * 1. the Host check: only loopback names (localhost, 127.0.0.0/8, [::1]) and the hosts the emulator was told to
 *    allow are answered, so a page that rebinds its own DNS name to 127.0.0.1 gets 403 and can neither load
 *    rules nor read or clear data;
 * 2. CORS for browsers: the request's Origin is reflected with credentials allowed (the web SDK sends its
 *    requests `withCredentials`, for which `*` is not accepted), preflights answered with the requested headers;
 * 3. routing: WebChannel streams, the Firestore REST API, the data viewer, then the emulator's own endpoints.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'http';
import { isIP } from 'net';
import { DataViewer } from './data-viewer';
import { EmulatorState } from './emulator-state';
import { handleFirestoreRest, isFirestoreRestPath } from './firestore-rest';
import { WebChannelServer } from './webchannel';

export interface HttpFront {
  handle: RequestListener;
  /** Ends the WebChannel sessions and their timers. */
  close(): void;
}

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
/** Read by the WebChannel client on the handshake answer. */
const EXPOSED_HEADERS = 'X-HTTP-Session-Id';

export function createHttpFront(state: EmulatorState, allowedHosts: readonly string[], handleEmulatorEndpoints: RequestListener): HttpFront {
  const allowed = new Set(allowedHosts.map(normalizeHost));
  const webChannel = new WebChannelServer(state);
  const viewer = new DataViewer(state);
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const host = hostnameOf(request.headers.host);
    if (host === null || !(isLoopback(host) || allowed.has(host))) {
      refuseHost(response, request.headers.host);
      return;
    }
    const origin = request.headers.origin;
    if (origin) {
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Access-Control-Allow-Credentials', 'true');
      response.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      response.setHeader('Vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      response.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
      const requested = request.headers['access-control-request-headers'];
      if (requested) response.setHeader('Access-Control-Allow-Headers', requested);
      response.setHeader('Access-Control-Max-Age', '3600');
      response.writeHead(204);
      response.end();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://emulator');
    const done = (work: Promise<void>): void => {
      void work.catch((error: unknown) => {
        console.error('[firestore-emulator] internal error:', error);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    };
    if (WebChannelServer.handles(url.pathname)) done(webChannel.handle(request, response, url));
    else if (isFirestoreRestPath(url.pathname)) done(handleFirestoreRest(state, request, response));
    else if (viewer.handles(request, url)) viewer.handle(response, url);
    else handleEmulatorEndpoints(request, response);
  };
  return { handle, close: () => webChannel.close() };
}

/** The host name of a Host header, lower case, IPv6 without brackets; null when absent or malformed. */
function hostnameOf(header: string | undefined): string | null {
  if (!header) return null;
  try {
    return normalizeHost(new URL(`http://${header}`).hostname);
  } catch {
    return null;
  }
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function refuseHost(response: ServerResponse, host: string | undefined): void {
  const message =
    `Host ${JSON.stringify(host ?? '')} is not allowed: the offline Firestore emulator answers only loopback hosts ` +
    '(localhost, 127.0.0.1, [::1]) and those given with --allow-host';
  const body = JSON.stringify({ error: { code: 403, message, status: 'PERMISSION_DENIED' } });
  response.writeHead(403, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
