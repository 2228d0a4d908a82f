/**
 * The Write stream the web SDK uses for non-transactional writes. The first request names the database and gets
 * the stream id and a first stream token (the handshake); every later request carries the last token it got and
 * a batch of writes, committed atomically, answered in order with the results, the commit time and a new token.
 * An error ends the stream with its status (the SDK then fails that batch and reopens a stream).
 */
import { randomBytes } from 'crypto';
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Caller, Code, RpcError } from '../engine/api';
import type { Database } from '../engine';
import { EmulatorState } from './emulator-state';
import type { StreamOutput, StreamSession } from './grpc-service';
import { databaseFromName } from './resource-names';

export class WriteSession implements StreamSession<google.firestore.v1.IWriteRequest> {
  private readonly streamId = randomBytes(12).toString('hex');
  private tokensIssued = 0;
  private database: Database | undefined;
  /** Batches are committed one after another, in the order they arrived. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly state: EmulatorState,
    private readonly caller: Caller,
    private readonly output: StreamOutput<google.firestore.v1.IWriteResponse>,
  ) {}

  handle(request: google.firestore.v1.IWriteRequest): void {
    if (!this.database) {
      this.handshake(request);
      return;
    }
    if (request.database && request.database !== this.database.name) {
      throw new RpcError(Code.INVALID_ARGUMENT, `This Write stream is for database "${this.database.name}", not "${request.database}"`);
    }
    this.checkToken(request.streamToken);
    const writes = request.writes ?? [];
    // A request without writes only acknowledges responses (the SDK sends one when it closes the stream).
    if (writes.length === 0) return;
    const database = this.database;
    this.enqueue(async () => {
      const committed = await database.commit({ database: database.name, writes }, this.caller);
      this.output.send({
        streamId: this.streamId,
        streamToken: this.nextToken(),
        writeResults: committed.writeResults,
        commitTime: committed.commitTime,
      });
    });
  }

  clientDone(): void {
    this.enqueue(async () => this.output.end());
  }

  close(): void {
    this.closed = true;
  }

  private handshake(request: google.firestore.v1.IWriteRequest): void {
    if (request.streamId) {
      throw new RpcError(Code.UNIMPLEMENTED, 'Resuming a Write stream by stream_id is not implemented by the offline Firestore emulator');
    }
    if (request.writes && request.writes.length > 0) {
      throw new RpcError(Code.INVALID_ARGUMENT, 'The first request on a Write stream must not contain writes');
    }
    const ref = databaseFromName(request.database, 'database');
    this.database = this.state.database(ref.projectId, ref.databaseId);
    this.output.send({ streamId: this.streamId, streamToken: this.nextToken() });
  }

  private checkToken(token: Buffer | Uint8Array | string | null | undefined): void {
    if (!token || token.length === 0) throw new RpcError(Code.INVALID_ARGUMENT, 'A WriteRequest after the handshake must carry a stream_token');
    if (
      !Buffer.from(token as Uint8Array)
        .toString('utf8')
        .startsWith(`${this.streamId}:`)
    ) {
      throw new RpcError(Code.INVALID_ARGUMENT, 'The stream_token was not issued on this Write stream');
    }
  }

  private nextToken(): Buffer {
    this.tokensIssued += 1;
    return Buffer.from(`${this.streamId}:${this.tokensIssued}`, 'utf8');
  }

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await step();
      } catch (error) {
        this.closed = true;
        this.output.fail(error);
      }
    });
  }
}
