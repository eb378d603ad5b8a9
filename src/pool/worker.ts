// Inference worker: opens the pool's models once (through the engine's session helper: cuda, then an
// explicit cpu fallback) and runs one request at a time. onnxruntime-node's run() blocks its thread,
// which is why it happens here and not on the main thread, where ffmpeg pipes, WebSocket and /metrics live.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { openSession } from '../engine/session.js';
import type { TensorMap } from '../types.js';
import { transferable, type FromWorker, type ModelInfo, type ToWorker, type WorkerInit } from './messages.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const sessions = new Map<string, ort.InferenceSession>();

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function open(): Promise<void> {
  const models: Record<string, ModelInfo> = {};
  for (const [name, source] of Object.entries(init.models)) {
    try {
      const { session, provider } = await openSession(source, {
        providers: init.providers,
        intraOpThreads: init.intraOpNumThreads,
        log: (line) => post({ type: 'log', line }),
      });
      sessions.set(name, session);
      models[name] = { provider, inputNames: session.inputNames, outputNames: session.outputNames };
    } catch (err) {
      post({ type: 'init-error', message: `model '${name}': ${(err as Error).message}` });
      return;
    }
  }
  post({ type: 'ready', models });
}

async function run(id: number, model: string, feeds: TensorMap): Promise<void> {
  const session = sessions.get(model);
  if (!session) {
    post({
      type: 'error',
      id,
      message: `no model named '${model}' (loaded: ${[...sessions.keys()].join(', ')})`,
    });
    return;
  }
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
    const results = await session.run(inputs);
    const outputs: TensorMap = {};
    for (const [name, t] of Object.entries(results)) {
      outputs[name] = { type: t.type as TensorMap[string]['type'], data: t.data as never, dims: [...t.dims] };
    }
    const { tensors, transfer } = transferable(outputs);
    post({ type: 'result', id, outputs: tensors }, transfer);
  } catch (err) {
    post({ type: 'error', id, message: `model '${model}': ${(err as Error).message.split('\n')[0]}` });
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'run') void run(message.id, message.model, message.feeds);
  else if (message.type === 'close') {
    void Promise.all([...sessions.values()].map((s) => s.release())).finally(() => port.close());
  }
});

void open();
