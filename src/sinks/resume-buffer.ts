// The bounded history of published data messages, shared by all connections: new clients and
// reconnecting ones read from it (resume), slow ones lag inside it. Bounded by message count
// and by bytes; the oldest messages go first.
import type { FilterKey } from './protocol.js';

export interface BufferedMessage {
  seq: number;
  key: FilterKey;
  /** The serialized message, encoded once and shared by every connection. */
  data: Buffer;
}

export class ResumeBuffer {
  private readonly slots: (BufferedMessage | undefined)[];
  private first = 0;
  private length = 0;
  private totalBytes = 0;

  constructor(
    readonly maxMessages: number,
    readonly maxBytes: number,
  ) {
    if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) {
      throw new RangeError(`resume buffer maxMessages must be an integer >= 1, got ${maxMessages}`);
    }
    if (!(maxBytes >= 1)) throw new RangeError(`resume buffer maxBytes must be >= 1, got ${maxBytes}`);
    this.slots = new Array(maxMessages);
  }

  get size(): number {
    return this.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Seq of the oldest message held, or undefined when empty. */
  get oldestSeq(): number | undefined {
    return this.slots[this.first]?.seq;
  }

  /**
   * Appends a message (its seq must follow the newest one) and evicts from the front until both
   * bounds hold; returns the evicted messages, oldest first. A message larger than maxBytes is
   * refused: it could never be held.
   */
  push(msg: BufferedMessage): BufferedMessage[] {
    if (msg.data.length > this.maxBytes) {
      throw new RangeError(
        `message of ${msg.data.length} bytes exceeds the resume buffer (${this.maxBytes} bytes)`,
      );
    }
    const evicted: BufferedMessage[] = [];
    while (
      this.length > 0 &&
      (this.length === this.maxMessages || this.totalBytes + msg.data.length > this.maxBytes)
    ) {
      evicted.push(this.shift());
    }
    this.slots[(this.first + this.length) % this.maxMessages] = msg;
    this.length++;
    this.totalBytes += msg.data.length;
    return evicted;
  }

  /** The message with this seq, or undefined when it is not (or no longer) held. */
  get(seq: number): BufferedMessage | undefined {
    const oldest = this.oldestSeq;
    if (oldest === undefined || seq < oldest || seq >= oldest + this.length) return undefined;
    return this.slots[(this.first + (seq - oldest)) % this.maxMessages];
  }

  private shift(): BufferedMessage {
    const msg = this.slots[this.first]!;
    this.slots[this.first] = undefined;
    this.first = (this.first + 1) % this.maxMessages;
    this.length--;
    this.totalBytes -= msg.data.length;
    return msg;
  }
}
