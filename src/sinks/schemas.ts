// JSON Schemas (draft-07) of every WebSocket API v1 message, for clients, tests and
// docs/protocol.md (a test keeps the document's copies equal to these).
import { DATA_TYPES, MAX_FILTER_ITEMS, MAX_LABEL_LENGTH } from './protocol.js';
import { MAX_STREAM_NAME_LENGTH } from './stream-name.js';

type Schema = Record<string, unknown>;

const SCHEMA_BASE = 'https://avvp-stream.dev/schemas/v1/';
const streamName: Schema = {
  type: 'string',
  pattern: `^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_STREAM_NAME_LENGTH - 1}}$`,
};
const seq: Schema = { type: 'integer', minimum: 0 };
const epochMs: Schema = { type: 'number', minimum: 0 };
const seconds: Schema = { type: 'number', minimum: 0 };
const probability: Schema = { type: 'number', minimum: 0, maximum: 1 };
const modality: Schema = { enum: ['audio', 'visual', 'audio-visual'] };
const count: Schema = { type: 'integer', minimum: 0 };

/** A server message: the common envelope plus its own fields, nothing else. */
function serverMessage(
  type: string,
  title: string,
  fields: Schema,
  required: string[],
  perStream: boolean,
): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${SCHEMA_BASE}${type}.json`,
    title,
    type: 'object',
    properties: {
      seq: perStream ? { type: 'integer', minimum: 1 } : seq,
      type: { const: type },
      stream: perStream ? streamName : { type: 'null' },
      mediaTime: perStream ? { type: ['number', 'null'], minimum: 0 } : { type: 'null' },
      wallclock: epochMs,
      ...fields,
    },
    required: ['seq', 'type', 'stream', 'mediaTime', 'wallclock', ...required],
    additionalProperties: false,
  };
}

const subscriptionFields: Schema = {
  streams: { type: 'array', items: streamName, minItems: 1, maxItems: MAX_FILTER_ITEMS },
  types: { type: 'array', items: { enum: [...DATA_TYPES] }, minItems: 1, maxItems: MAX_FILTER_ITEMS },
  labels: {
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength: MAX_LABEL_LENGTH },
    minItems: 1,
    maxItems: MAX_FILTER_ITEMS,
  },
  minConfidence: probability,
};

const classProbabilities: Schema = { type: 'array', items: probability };

const statusSchema = serverMessage(
  'status',
  'A stream changed state',
  {
    state: { enum: ['starting', 'up', 'down', 'reconnecting', 'ended'] },
    reason: { type: 'string' },
    restarts: count,
    dropped: count,
  },
  ['state', 'restarts', 'dropped'],
  true,
);
/** The status schema without its identity, to nest in hello.states. */
const { $schema: _s, $id: _i, ...nestedStatus } = statusSchema;

export const serverSchemas: Record<string, Schema> = {
  hello: serverMessage(
    'hello',
    'First message on every connection',
    {
      v: { const: 1 },
      instance: { type: 'string', minLength: 1 },
      streams: { type: 'array', items: streamName },
      classes: { type: 'array', items: { type: 'string' } },
      types: { type: 'array', items: { enum: [...DATA_TYPES] } },
      oldestSeq: { type: ['integer', 'null'], minimum: 1 },
      heartbeatMs: { type: 'integer', minimum: 1 },
      maxBufferedBytes: { type: 'integer', minimum: 1 },
      states: { type: 'array', items: nestedStatus },
    },
    [
      'v',
      'instance',
      'streams',
      'classes',
      'types',
      'oldestSeq',
      'heartbeatMs',
      'maxBufferedBytes',
      'states',
    ],
    false,
  ),
  subscribed: serverMessage(
    'subscribed',
    'Acknowledges subscribe and resume',
    {
      subscription: { type: 'object', properties: subscriptionFields, additionalProperties: false },
      since: seq,
    },
    ['subscription', 'since'],
    false,
  ),
  event: serverMessage(
    'event',
    'An audible, visible or audio-visual event starting, continuing or ending',
    {
      mediaTime: seconds,
      id: { type: 'string', minLength: 1 },
      label: { type: 'string', minLength: 1 },
      modality,
      phase: { enum: ['start', 'update', 'end'] },
      start: seconds,
      end: seconds,
      wallclockStart: epochMs,
      confidence: probability,
    },
    ['id', 'label', 'modality', 'phase', 'start', 'wallclockStart', 'confidence'],
    true,
  ),
  segment: serverMessage(
    'segment',
    'Per-class probabilities of one segment, in the order of hello.classes',
    {
      mediaTime: seconds,
      index: count,
      duration: { type: 'number', exclusiveMinimum: 0 },
      audio: classProbabilities,
      visual: classProbabilities,
      audioVisual: classProbabilities,
    },
    ['index', 'duration', 'audio', 'visual', 'audioVisual'],
    true,
  ),
  localization: serverMessage(
    'localization',
    'Where the sound comes from in one segment',
    {
      mediaTime: seconds,
      index: count,
      width: { type: 'integer', minimum: 1 },
      height: { type: 'integer', minimum: 1 },
      grid: { type: 'string', contentEncoding: 'base64' },
      peak: {
        type: 'object',
        properties: { x: count, y: count, value: probability },
        required: ['x', 'y', 'value'],
        additionalProperties: false,
      },
      box: {
        type: 'object',
        properties: { x0: probability, y0: probability, x1: probability, y1: probability },
        required: ['x0', 'y0', 'x1', 'y1'],
        additionalProperties: false,
      },
    },
    ['index', 'width', 'height', 'grid', 'peak', 'box'],
    true,
  ),
  embedding: serverMessage(
    'embedding',
    'An audio-visual embedding of one segment',
    {
      mediaTime: seconds,
      index: count,
      modality,
      vector: { type: 'array', items: { type: 'number' }, minItems: 1 },
    },
    ['index', 'modality', 'vector'],
    true,
  ),
  status: statusSchema,
  dropped: serverMessage(
    'dropped',
    'Messages this connection will never receive',
    {
      reason: { enum: ['slow-consumer', 'resume-gap'] },
      from: { type: 'integer', minimum: 1 },
      to: { type: 'integer', minimum: 1 },
      count: { type: ['integer', 'null'], minimum: 0 },
    },
    ['reason', 'from', 'to', 'count'],
    false,
  ),
  error: serverMessage(
    'error',
    'A client message could not be acted on',
    {
      code: { enum: ['invalid-json', 'invalid-message', 'unknown-op', 'invalid-field'] },
      message: { type: 'string', minLength: 1 },
      op: { type: 'string' },
      field: { type: 'string' },
    },
    ['code', 'message'],
    false,
  ),
};

const since: Schema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

export const clientSchemas: Record<string, Schema> = {
  subscribe: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${SCHEMA_BASE}subscribe.json`,
    title: 'Set the filter (omitted fields: everything) and start delivery; with since, resume',
    type: 'object',
    properties: { op: { const: 'subscribe' }, ...subscriptionFields, since },
    required: ['op'],
    additionalProperties: false,
  },
  resume: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${SCHEMA_BASE}resume.json`,
    title: 'Continue after the last seq processed, keeping the filter',
    type: 'object',
    properties: { op: { const: 'resume' }, since },
    required: ['op', 'since'],
    additionalProperties: false,
  },
};
