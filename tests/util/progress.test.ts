import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, formatBytes, formatDuration } from '../../src/util/progress.js';

function capture() {
  const out = new PassThrough() as unknown as NodeJS.WriteStream;
  const chunks: string[] = [];
  (out as unknown as PassThrough).on('data', (c: Buffer) => chunks.push(c.toString()));
  return { out, text: () => chunks.join('') };
}

describe('Progress', () => {
  it('prints plain lines when not a TTY, with counts, percent and the final status', async () => {
    const { out, text } = capture();
    const p = new Progress({ label: 'synth', total: 4, unit: 'clips', stream: out, logEveryMs: 0 });
    p.tick();
    p.tick(3, 'loss 0.5');
    p.finish();
    await new Promise((r) => setImmediate(r));
    const lines = text().trim().split('\n');
    expect(lines[0]).toMatch(/^synth 1 clips\/4 clips 25\.0%/);
    expect(lines.at(-1)).toMatch(/4 clips\/4 clips 100\.0% .* loss 0\.5$/);
    expect(text()).not.toContain('\r');
  });

  it('does not repeat the last plain line on finish()', async () => {
    const { out, text } = capture();
    const p = new Progress({ label: 'fetch', total: 2, stream: out, logEveryMs: 0 });
    p.tick(2);
    p.finish();
    await new Promise((r) => setImmediate(r));
    expect(text().trim().split('\n')).toHaveLength(1);
  });

  it('formats bytes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3 * 3600 + 60)).toBe('3h01m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
