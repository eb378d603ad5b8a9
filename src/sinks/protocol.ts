// WebSocket API v1: the messages exchanged on GET /v1/events, builders that turn the shared data
// contracts into server messages, and the parser of client messages. docs/protocol.md explains
// the semantics; src/sinks/schemas.ts holds the JSON Schemas of every message.
import type { AvEvent, Modality, SegmentPrediction, StreamState, StreamStatus } from '../types.js';
import { redactUrl } from '../util/redact.js';
import { streamNameProblem } from './stream-name.js';

export const PROTOCOL_VERSION = 1;

/** Server messages that carry data about one stream; each takes the next server-wide `seq`. */
export const DATA_TYPES = ['event', 'segment', 'localization', 'embedding', 'status'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/**
 * Fields every server message carries. Data messages take the next value of one server-wide
 * counter; connection messages (hello, subscribed, dropped, error) repeat the seq of the
 * connection's position, so seq never decreases on a connection.
 */
interface Envelope {
  seq: number;
  /** Configured stream name; null on connection messages. */
  stream: string | null;
  /** Media seconds the message is about; null when it is about no media instant. */
  mediaTime: number | null;
  /** Epoch milliseconds of `mediaTime` (of the occurrence when mediaTime is null). */
  wallclock: number;
}

export interface EventMessage extends Envelope {
  type: 'event';
  stream: string;
  mediaTime: number;
  id: string;
  label: string;
  modality: Modality;
  phase: AvEvent['phase'];
  start: number;
  end?: number;
  wallclockStart: number;
  confidence: number;
}

export interface SegmentMessage extends Envelope {
  type: 'segment';
  stream: string;
  mediaTime: number;
  index: number;
  duration: number;
  /** Per-class probabilities, in the order of hello.classes. */
  audio: number[];
  visual: number[];
  audioVisual: number[];
}

export interface LocalizationMessage extends Envelope {
  type: 'localization';
  stream: string;
  mediaTime: number;
  index: number;
  width: number;
  height: number;
  /** width*height uint8 values (row-major, 255 = most likely source), base64. */
  grid: string;
  /** Peak cell and its score in [0, 1]. */
  peak: { x: number; y: number; value: number };
  /** Box around the sounding object in image coordinates normalised to [0, 1]. */
  box: { x0: number; y0: number; x1: number; y1: number };
}

export interface EmbeddingMessage extends Envelope {
  type: 'embedding';
  stream: string;
  mediaTime: number;
  index: number;
  modality: Modality;
  vector: number[];
}

export interface StatusMessage extends Envelope {
  type: 'status';
  stream: string;
  state: StreamState;
  reason?: string;
  restarts: number;
  dropped: number;
}

export type DataMessage =
  EventMessage | SegmentMessage | LocalizationMessage | EmbeddingMessage | StatusMessage;

type WithoutSeq<M> = M extends unknown ? Omit<M, 'seq'> : never;
/** What the runtime hands to `publish`: the server assigns `seq`. */
export type Publishable = WithoutSeq<DataMessage>;

export interface HelloMessage extends Envelope {
  type: 'hello';
  stream: null;
  mediaTime: null;
  v: typeof PROTOCOL_VERSION;
  /** Random id of this server run: seq restarts at 1 when it changes. */
  instance: string;
  streams: string[];
  classes: string[];
  types: DataType[];
  /** Oldest seq still in the resume buffer (null when empty). */
  oldestSeq: number | null;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** The last `status` message of each configured stream that has had one. */
  states: StatusMessage[];
}

export interface Subscription {
  streams?: string[];
  types?: DataType[];
  labels?: string[];
  minConfidence?: number;
}

export interface SubscribedMessage extends Envelope {
  type: 'subscribed';
  stream: null;
  mediaTime: null;
  subscription: Subscription;
  /** The seq delivery continues after. */
  since: number;
}

export type DropReason = 'slow-consumer' | 'resume-gap';

export interface DroppedMessage extends Envelope {
  type: 'dropped';
  stream: null;
  mediaTime: null;
  reason: DropReason;
  /** Inclusive seq range of messages this connection will never receive. */
  from: number;
  to: number;
  /** How many of them matched the subscription; null when unknown (resume gap). */
  count: number | null;
}

export type ErrorCode = 'invalid-json' | 'invalid-message' | 'unknown-op' | 'invalid-field';

export interface ErrorMessage extends Envelope {
  type: 'error';
  stream: null;
  mediaTime: null;
  code: ErrorCode;
  message: string;
  op?: string;
  field?: string;
}

export type ConnectionMessage = HelloMessage | SubscribedMessage | DroppedMessage | ErrorMessage;
export type ServerMessage = DataMessage | ConnectionMessage;

export interface SubscribeOp extends Subscription {
  op: 'subscribe';
  since?: number;
}
export interface ResumeOp {
  op: 'resume';
  since: number;
}
export type ClientMessage = SubscribeOp | ResumeOp;

export const CLIENT_OPS = ['subscribe', 'resume'] as const;

/** Limits on list fields of a subscription: bounded work per message filter. */
export const MAX_FILTER_ITEMS = 256;
export const MAX_LABEL_LENGTH = 128;

/** A client message that cannot be acted on; becomes an `error` message. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly op?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Parses and validates one client text frame; throws ProtocolError naming what is wrong. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('invalid-json', 'message is not valid JSON; send one JSON object per text frame');
  }
  if (!isPlainObject(value)) {
    throw new ProtocolError('invalid-message', 'message must be a JSON object such as {"op":"subscribe"}');
  }
  const op = value.op;
  if (typeof op !== 'string') {
    throw new ProtocolError(
      'invalid-message',
      `message needs a string "op" (one of ${CLIENT_OPS.join(', ')})`,
    );
  }
  if (op === 'subscribe') return parseSubscribe(value);
  if (op === 'resume') return parseResume(value);
  throw new ProtocolError(
    'unknown-op',
    `unknown op "${truncate(op)}"; expected one of ${CLIENT_OPS.join(', ')}`,
    op,
  );
}

function parseSubscribe(value: Record<string, unknown>): SubscribeOp {
  rejectUnknownFields(value, 'subscribe', ['op', 'streams', 'types', 'labels', 'minConfidence', 'since']);
  const out: SubscribeOp = { op: 'subscribe' };
  if (value.streams !== undefined) {
    out.streams = stringList(value.streams, 'streams', (name) => streamNameProblem(name));
  }
  if (value.types !== undefined) {
    const allowed: readonly string[] = DATA_TYPES;
    out.types = stringList(value.types, 'types', (t) =>
      allowed.includes(t) ? undefined : `"${truncate(t)}" is not a message type (${DATA_TYPES.join(', ')})`,
    ) as DataType[];
  }
  if (value.labels !== undefined) {
    out.labels = stringList(value.labels, 'labels', (label) =>
      label.length > 0 && label.length <= MAX_LABEL_LENGTH
        ? undefined
        : `labels are 1..${MAX_LABEL_LENGTH} characters`,
    );
  }
  if (value.minConfidence !== undefined) {
    const c = value.minConfidence;
    if (typeof c !== 'number' || !(c >= 0 && c <= 1)) {
      throw fieldError('subscribe', 'minConfidence', 'must be a number between 0 and 1');
    }
    out.minConfidence = c;
  }
  if (value.since !== undefined) out.since = seqField(value.since, 'subscribe');
  return out;
}

function parseResume(value: Record<string, unknown>): ResumeOp {
  rejectUnknownFields(value, 'resume', ['op', 'since']);
  if (value.since === undefined)
    throw fieldError('resume', 'since', 'is required: the last seq you processed');
  return { op: 'resume', since: seqField(value.since, 'resume') };
}

function seqField(v: unknown, op: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw fieldError(
      op,
      'since',
      'must be an integer >= 0 (the last seq you processed, 0 for everything buffered)',
    );
  }
  return v;
}

function stringList(v: unknown, field: string, problem: (item: string) => string | undefined): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_FILTER_ITEMS) {
    throw fieldError(
      'subscribe',
      field,
      `must be a non-empty array of at most ${MAX_FILTER_ITEMS} strings (omit it to receive all)`,
    );
  }
  for (const item of v) {
    if (typeof item !== 'string') throw fieldError('subscribe', field, 'must contain only strings');
    const p = problem(item);
    if (p) throw fieldError('subscribe', field, p);
  }
  return [...new Set(v as string[])];
}

function rejectUnknownFields(value: Record<string, unknown>, op: string, known: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ProtocolError(
        'invalid-field',
        `unknown field "${truncate(key)}" in ${op}; allowed: ${known.join(', ')}`,
        op,
        key,
      );
    }
  }
}

function fieldError(op: string, field: string, problem: string): ProtocolError {
  return new ProtocolError('invalid-field', `${op}.${field} ${problem}`, op, field);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keeps echoed client input short in error messages. */
function truncate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The fields of a data message that subscriptions filter on (kept per buffered message). */
export interface FilterKey {
  type: DataType;
  stream: string;
  label?: string;
  confidence?: number;
}

export function filterKey(msg: Publishable): FilterKey {
  return msg.type === 'event'
    ? { type: msg.type, stream: msg.stream, label: msg.label, confidence: msg.confidence }
    : { type: msg.type, stream: msg.stream };
}

/** True when a data message passes a subscription (labels and minConfidence act on events only). */
export function matches(sub: Subscription, key: FilterKey): boolean {
  if (sub.types && !sub.types.includes(key.type)) return false;
  if (sub.streams && !sub.streams.includes(key.stream)) return false;
  if (key.type === 'event') {
    if (sub.labels && !sub.labels.includes(key.label!)) return false;
    if (sub.minConfidence !== undefined && key.confidence! < sub.minConfidence) return false;
  }
  return true;
}

// ---- builders from the shared data contracts ----

/** Probabilities are sent with 4 decimals: more is noise and triples the message size. */
function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Rounded probabilities; a non-finite value (a model fault) is refused, naming where it is. */
function probabilities(values: ArrayLike<number>, where: string): number[] {
  return Array.from(values, (x, i) => {
    if (!Number.isFinite(x))
      throw new RangeError(`${where}[${i}] is ${x}: the model produced a non-finite value`);
    return round4(x);
  });
}

/**
 * An `event` message. mediaTime defaults to the instant the phase reports (the end once known,
 * else the start); its wall clock is derived from the event's wallclockStart.
 */
export function eventMessage(e: AvEvent, mediaTime = e.end ?? e.start): Omit<EventMessage, 'seq'> {
  return {
    type: 'event',
    stream: e.stream,
    mediaTime,
    wallclock: Math.round(e.wallclockStart + (mediaTime - e.start) * 1000),
    id: e.id,
    label: e.label,
    modality: e.modality,
    phase: e.phase,
    start: e.start,
    ...(e.end === undefined ? {} : { end: e.end }),
    wallclockStart: e.wallclockStart,
    confidence: probabilities([e.confidence], `event ${e.id} confidence`)[0]!,
  };
}

export function segmentMessage(p: SegmentPrediction): Omit<SegmentMessage, 'seq'> {
  return {
    type: 'segment',
    stream: p.stream,
    mediaTime: p.t0,
    wallclock: p.wallclock,
    index: p.index,
    duration: p.t1 - p.t0,
    audio: probabilities(p.audio, `segment ${p.stream}#${p.index} audio`),
    visual: probabilities(p.visual, `segment ${p.stream}#${p.index} visual`),
    audioVisual: probabilities(p.audioVisual, `segment ${p.stream}#${p.index} audioVisual`),
  };
}

export function statusMessage(s: StreamStatus): Omit<StatusMessage, 'seq'> {
  return {
    type: 'status',
    stream: s.stream,
    mediaTime: null,
    wallclock: s.at,
    state: s.state,
    // Reasons often quote ffmpeg, which quotes the source URL.
    ...(s.reason === undefined ? {} : { reason: redactUrl(s.reason) }),
    restarts: s.restarts,
    dropped: s.dropped,
  };
}
