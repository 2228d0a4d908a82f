/**
 * The WebChannel transport of the Listen and Write streams, as the `firebase` web SDK's browser build opens them:
 * `/google.firestore.v1.Firestore/{Listen|Write}/channel`, the BrowserChannel protocol version 8 spoken by
 * closure-library's goog.net WebChannel (bundled in @firebase/webchannel-wrapper). A thin adapter: each channel
 * is one ListenSession or WriteSession, the same sessions gRPC streams drive; messages are the proto3 JSON mapping.
 *
 * The protocol, as the client implements it (closure-library labs/net/webchannel):
 * - Handshake: `POST ...?VER=8&RID=n&CVER=22&X-HTTP-Session-Id=gsessionid` with a form body `count=1&ofs=0&
 *   req0___data__=<json>`, prefixed by `headers=<url-encoded "Name:value\r\n"...>` (the SDK encodes Authorization
 *   there to avoid a CORS preflight). The answer is array 0, `["c", SID, hostPrefix, 8]`.
 * - Forward channel: `POST ...?SID=..&RID=n&AID=last array seen` with more `reqN___data__` maps (ids from `ofs`,
 *   re-sent on retries, so each map id is handled once); answered `[backchannelPresent, lastArrayId, bytes]`.
 * - Back channel: `GET ...?RID=rpc&SID=..&AID=..&CI=0|1&TYPE=xmlhttp`. CI=0 streams arrays as they come; CI=1
 *   (long polling, `experimentalForceLongPolling` or a detected buffering proxy) answers once and ends. Arrays the
 *   client acknowledged (AID) are dropped, the others re-sent. A streaming back channel gets a `noop` at once: the
 *   client's buffering-proxy detection (auto-detect mode) waits for its first bytes. A streaming back channel ends
 *   after 256 Ki characters, so the next one's AID bounds what is kept for re-sending.
 * - Every answer is a list of `length\n[[arrayId, payload], ...]` chunks, length in UTF-16 code units (the client
 *   measures the decoded response text). A Firestore payload is `[message]`; a stream error is
 *   `[{ error: { code, message, status } }]`, after which the SDK closes the channel.
 * - `TYPE=terminate` ends the session; a request naming an unknown SID gets 400 "Unknown SID" (the client then
 *   fails the stream and the SDK opens a new one, as after an emulator restart).
 */
import { randomBytes } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { z } from 'zod';
import { Caller, Code, RpcError } from '../engine/api';
import { callerFromAuthorization } from './auth';
import { EmulatorState } from './emulator-state';
import { errorBody } from './firestore-rest';
import type { StreamOutput, StreamSession } from './grpc-service';
import { ListenSession } from './listen';
import { fromProtoJson, toProtoJson } from './proto-json';
import { readText } from './rest';
import { WriteSession } from './write-session';

const CHANNEL_PATH = /^\/google\.firestore\.v1\.Firestore\/(Listen|Write)\/channel$/;
const PROTOCOL_VERSION = 8;
/** Below the client's 45 s request watchdog: an idle back channel gets a noop (streaming) or ends (long poll). */
const KEEPALIVE_MS = 30_000;
/**
 * A streaming back channel is ended after this many characters: the client opens the next one at once, and its
 * request acknowledges what it received (AID), so the arrays kept for re-sending stay bounded.
 */
const STREAMING_CHARS_PER_BACK_CHANNEL = 256 * 1024;
/** A session with no back channel and no request for this long is abandoned (its stream released). */
const ABANDONED_AFTER_MS = 60_000;

const STREAMS = {
  Listen: {
    request: 'google.firestore.v1.ListenRequest',
    response: 'google.firestore.v1.ListenResponse',
    open: (state: EmulatorState, caller: Caller, output: StreamOutput<object>): StreamSession<object> => new ListenSession(state, caller, output),
  },
  Write: {
    request: 'google.firestore.v1.WriteRequest',
    response: 'google.firestore.v1.WriteResponse',
    open: (state: EmulatorState, caller: Caller, output: StreamOutput<object>): StreamSession<object> => new WriteSession(state, caller, output),
  },
} as const;
type StreamName = keyof typeof STREAMS;

const ChannelQuery = z.object({
  VER: z.literal(String(PROTOCOL_VERSION), { error: `only BrowserChannel VER=${PROTOCOL_VERSION} is spoken here` }).optional(),
  SID: z.string().min(1).optional(),
  RID: z.string().min(1).optional(),
  AID: z.coerce.number().int().min(-1).optional(),
  CI: z.enum(['0', '1']).optional(),
  TYPE: z.string().optional(),
  TO: z.coerce.number().int().positive().optional(),
});
type ChannelQuery = z.infer<typeof ChannelQuery>;

interface BackChannel {
  response: ServerResponse;
  streaming: boolean;
  timer: NodeJS.Timeout;
  /** Characters written so far. */
  written: number;
}

class ChannelSession {
  readonly id = randomBytes(12).toString('base64url');
  readonly httpSessionId = randomBytes(12).toString('base64url');
  /** Arrays not yet acknowledged by the client, oldest first. Array 0 is the handshake. */
  private unacknowledged: { id: number; text: string }[] = [];
  private nextArrayId = 1;
  /** The last array written to the current back channel. */
  private writtenUpTo = 0;
  private lastMapId = -1;
  private backChannel: BackChannel | null = null;
  private stream: StreamSession<object> | null = null;
  /** The stream ended or failed: later messages are ignored, queued arrays still delivered. */
  private finished = false;
  lastActivity = Date.now();

  constructor(private readonly name: StreamName) {}

  open(state: EmulatorState, authorization: string | undefined): void {
    const spec = STREAMS[this.name];
    const output: StreamOutput<object> = {
      send: (response) => {
        if (!this.finished) this.queue([toProtoJson(spec.response, response)]);
      },
      end: () => this.finish(['close']),
      fail: (error) => this.finish([errorBody(error)[1]]),
    };
    try {
      this.stream = spec.open(state, callerFromAuthorization(authorization), output);
    } catch (error) {
      output.fail(error);
    }
  }

  /** Handles each map of a forward-channel body once, in map id order. */
  receive(maps: Map<number, string>): void {
    this.lastActivity = Date.now();
    for (const mapId of [...maps.keys()].sort((a, b) => a - b)) {
      if (mapId <= this.lastMapId) continue;
      this.lastMapId = mapId;
      if (this.finished || !this.stream) continue;
      try {
        const message = fromProtoJson<object>(STREAMS[this.name].request, JSON.parse(maps.get(mapId) ?? ''));
        this.stream.handle(message);
      } catch (error) {
        this.finish([
          errorBody(error instanceof SyntaxError ? new RpcError(Code.INVALID_ARGUMENT, `Invalid JSON payload received. ${error.message}`) : error)[1],
        ]);
      }
    }
  }

  acknowledge(lastSeen: number | undefined): void {
    if (lastSeen === undefined) return;
    this.unacknowledged = this.unacknowledged.filter((array) => array.id > lastSeen);
  }

  /** What the forward channel answers: back channel present, last array id, bytes not yet acknowledged. */
  postResponse(): string {
    const outstanding = this.unacknowledged.reduce((sum, array) => sum + array.text.length, 0);
    return JSON.stringify([1, this.nextArrayId - 1, outstanding]);
  }

  attachBackChannel(response: ServerResponse, streaming: boolean, longPollMs: number): void {
    this.lastActivity = Date.now();
    // A client opens a new back channel only once it gave up on the old one: end that one.
    const previous = this.backChannel;
    this.detachBackChannel();
    previous?.response.end();
    response.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
      'x-content-type-options': 'nosniff',
    });
    const backChannel: BackChannel = {
      response,
      streaming,
      timer: setTimeout(() => this.keepAlive(backChannel), streaming ? KEEPALIVE_MS : longPollMs).unref(),
      written: 0,
    };
    this.backChannel = backChannel;
    this.writtenUpTo = 0;
    response.once('close', () => {
      if (this.backChannel === backChannel) this.detachBackChannel();
    });
    if (this.unacknowledged.length > 0) this.flush();
    else if (streaming) this.queue(['noop']);
  }

  close(): void {
    this.finished = true;
    this.stream?.close();
    this.stream = null;
    const backChannel = this.backChannel;
    this.detachBackChannel();
    backChannel?.response.end();
  }

  isAbandoned(now: number): boolean {
    return this.backChannel === null && now - this.lastActivity > ABANDONED_AFTER_MS;
  }

  private finish(payload: unknown[]): void {
    if (this.finished) return;
    this.queue(payload);
    this.finished = true;
    this.stream?.close();
    this.stream = null;
  }

  private queue(payload: unknown[]): void {
    const id = this.nextArrayId++;
    this.unacknowledged.push({ id, text: JSON.stringify([id, payload]) });
    this.flush();
  }

  private flush(): void {
    const backChannel = this.backChannel;
    if (!backChannel) return;
    const unsent = this.unacknowledged.filter((array) => array.id > this.writtenUpTo);
    if (unsent.length === 0) return;
    this.writtenUpTo = unsent[unsent.length - 1].id;
    const text = chunk(`[${unsent.map((array) => array.text).join(',')}]`);
    backChannel.response.write(text);
    backChannel.written += text.length;
    if (!backChannel.streaming || backChannel.written >= STREAMING_CHARS_PER_BACK_CHANNEL) {
      this.detachBackChannel();
      backChannel.response.end();
    }
  }

  private keepAlive(backChannel: BackChannel): void {
    if (this.backChannel !== backChannel) return;
    // Long polling: an empty answer is an error to the client, so the poll ends with a noop.
    this.queue(['noop']);
    if (backChannel.streaming) backChannel.timer = setTimeout(() => this.keepAlive(backChannel), KEEPALIVE_MS).unref();
  }

  private detachBackChannel(): void {
    if (!this.backChannel) return;
    clearTimeout(this.backChannel.timer);
    this.backChannel = null;
    this.lastActivity = Date.now();
  }
}

/** A BrowserChannel chunk: its length in UTF-16 code units (what the client's String.length counts), then it. */
function chunk(text: string): string {
  return `${text.length}\n${text}`;
}

export class WebChannelServer {
  private readonly sessions = new Map<string, ChannelSession>();
  private readonly sweeper = setInterval(() => this.sweep(), ABANDONED_AFTER_MS / 4).unref();

  constructor(private readonly state: EmulatorState) {}

  static handles(path: string): boolean {
    return CHANNEL_PATH.test(path);
  }

  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const name = CHANNEL_PATH.exec(url.pathname)?.[1] as StreamName;
    const parsed = ChannelQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      sendText(response, 400, `Invalid WebChannel request: ${issue.path.join('.')}: ${issue.message}`);
      return;
    }
    const query = parsed.data;
    if (query.TYPE === 'terminate') {
      this.terminate(query.SID);
      sendText(response, 200, '');
      return;
    }
    if (!query.SID) {
      if (request.method !== 'POST') {
        sendText(response, 400, 'A WebChannel handshake is a POST');
        return;
      }
      await this.handshake(name, request, response);
      return;
    }
    const session = this.sessions.get(query.SID);
    if (!session) {
      // The client takes "Unknown SID" in a 400 for a lost session (UNKNOWN_SESSION_ID) and fails the channel.
      sendText(response, 400, `Unknown SID ${query.SID}`);
      return;
    }
    session.acknowledge(query.AID);
    if (request.method === 'GET' && query.TYPE === 'xmlhttp') {
      session.attachBackChannel(response, query.CI !== '1', query.TO ?? KEEPALIVE_MS);
      return;
    }
    if (request.method !== 'POST') {
      sendText(response, 400, 'A WebChannel forward-channel request is a POST');
      return;
    }
    const form = new URLSearchParams(await readText(request));
    session.receive(mapsOf(form));
    sendText(response, 200, chunk(session.postResponse()));
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private async handshake(name: StreamName, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readText(request));
    const session = new ChannelSession(name);
    this.sessions.set(session.id, session);
    session.open(this.state, headerFrom(form.get('headers'), 'authorization') ?? request.headers.authorization);
    response.setHeader('X-HTTP-Session-Id', session.httpSessionId);
    sendText(response, 200, chunk(JSON.stringify([[0, ['c', session.id, '', PROTOCOL_VERSION]]])));
    session.receive(mapsOf(form));
  }

  private terminate(sid: string | undefined): void {
    const session = sid ? this.sessions.get(sid) : undefined;
    if (!session) return;
    this.sessions.delete(session.id);
    session.close();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) {
      if (!session.isAbandoned(now)) continue;
      this.sessions.delete(id);
      session.close();
    }
  }
}

/** The `reqN___data__` fields of a form body, by map id (`ofs` + N). */
function mapsOf(form: URLSearchParams): Map<number, string> {
  const offset = Number(form.get('ofs') ?? 0);
  const maps = new Map<number, string>();
  for (const [key, value] of form) {
    const match = /^req(\d+)___data__$/.exec(key);
    if (match) maps.set(offset + Number(match[1]), value);
  }
  return maps;
}

/** One header of the `headers` form field: "Name:value" lines separated by CRLF. */
function headerFrom(encoded: string | null, wanted: string): string | undefined {
  for (const line of (encoded ?? '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return undefined;
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
