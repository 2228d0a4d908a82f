/**
 * The data viewer at the emulator's root URL: a browser asking for HTML at `/` gets one page (data-viewer.html)
 * that browses projects, collections and documents through the Firestore REST API (as `Bearer owner`), shows the
 * recent rules decisions (`:rulesDecisions`) and clears data (the emulator's DELETE endpoint). Anything else asking
 * for `/` still gets Google's `Ok`. It adds one endpoint of its own: `GET /emulator/v1/projects`.
 */
import { readFileSync } from 'fs';
import type { IncomingMessage, ServerResponse } from 'http';
import * as path from 'path';
import { EmulatorState } from './emulator-state';

const PAGE = readFileSync(path.join(__dirname, 'data-viewer.html'), 'utf8');

export class DataViewer {
  constructor(private readonly state: EmulatorState) {}

  handles(request: IncomingMessage, url: URL): boolean {
    if (request.method !== 'GET') return false;
    if (url.pathname === '/emulator/v1/projects') return true;
    return url.pathname === '/' && (request.headers.accept ?? '').includes('text/html');
  }

  handle(response: ServerResponse, url: URL): void {
    if (url.pathname === '/emulator/v1/projects') {
      send(response, JSON.stringify({ projects: this.state.projects() }), 'application/json; charset=utf-8');
      return;
    }
    send(response, PAGE, 'text/html; charset=utf-8');
  }
}

function send(response: ServerResponse, body: string, contentType: string): void {
  response.writeHead(200, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // The page runs only its own inline script and talks only to this origin.
    'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
  });
  response.end(body);
}
