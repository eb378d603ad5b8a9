// Execution providers: the list a user gives (--providers, config) and the explicit fallback when a
// device provider cannot open. This machine has neither the CUDA libraries nor a usable WebGPU
// adapter, so both are seen falling back to the CPU for real; docs/gpu.md has the GPU runs.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROVIDERS,
  cudaLibraryMissing,
  openSession,
  parseProviders,
} from '../../src/engine/session.js';

const MODEL = 'models/dsp-audio.onnx';

describe('parseProviders', () => {
  it('reads a comma-separated list in order', () => {
    expect(parseProviders('cuda,cpu')).toEqual(['cuda', 'cpu']);
    expect(parseProviders('webgpu, cpu')).toEqual(['webgpu', 'cpu']);
    expect(parseProviders('cpu')).toEqual(['cpu']);
    expect(DEFAULT_PROVIDERS).toEqual(['cuda', 'cpu']);
  });

  it('rejects unknown, empty, repeated and hostile names, listing the valid ones', () => {
    expect(() => parseProviders('tensorrt')).toThrow(
      /unknown execution provider 'tensorrt'.*cuda, webgpu, cpu/,
    );
    expect(() => parseProviders('')).toThrow(/unknown execution provider ''/);
    expect(() => parseProviders('cuda,,cpu')).toThrow(/unknown execution provider/);
    expect(() => parseProviders('cpu,cpu')).toThrow(/repeat/);
    const long = parseProviders.bind(null, 'x'.repeat(10_000));
    expect(long).toThrow(/^unknown execution provider 'x{40}'/);
  });
});

describe('openSession provider fallback', () => {
  it('falls back from webgpu to cpu when no adapter opens, and says so', async () => {
    const lines: string[] = [];
    const { session, provider } = await openSession(MODEL, {
      providers: ['webgpu', 'cpu'],
      log: (l) => lines.push(l),
    });
    // A machine with a working Vulkan driver would open webgpu; this one has none.
    expect(['webgpu', 'cpu']).toContain(provider);
    expect(lines.at(-1)).toMatch(new RegExp(`opened with the ${provider} execution provider`));
    if (provider === 'cpu') expect(lines[0]).toMatch(/webgpu provider unavailable .*falling back to cpu/);
    await session.release();
  });

  it.skipIf(!cudaLibraryMissing())('fails with the last error when every provider fails', async () => {
    await expect(openSession(MODEL, { providers: ['cuda'] })).rejects.toThrow(
      /onnxruntime could not load model file models\/dsp-audio.onnx: .*Cuda: Failed to load shared library/,
    );
  });
});
