// `avvp gpu setup|check` through the real CLI: usage and exit codes, setup's refusals (the pinned
// integrity cannot be turned off from the command line), and check on this CPU machine.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAvvp } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { fakeOrt, packageEntries, tgz } from '../engine/gpu/fixture.js';

const tmp = tempDirs('avvp-cli-gpu-');

describe('avvp gpu', () => {
  it('is listed by avvp --help and prints its usage with --help', async () => {
    const overview = await runAvvp(['--help']);
    expect(overview.stdout).toMatch(/^ {2}gpu +install the CUDA provider libraries/m);
    const help = await runAvvp(['gpu', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /Usage: avvp gpu setup \[--from FILE\.tgz\] \[--cache DIR\] \[--ort-dir DIR\] \[--force\]/,
    );
    expect(help.stdout).toMatch(/avvp gpu check \[--json\]/);
    expect(help.stdout).toMatch(/com\.github\.asus4\.onnxruntime\.linux-x64-gpu@0\.4\.9/);
  });

  it('exits 2 on usage errors', async () => {
    for (const [args, message] of [
      [['gpu'], /missing sub-command: setup or check/],
      [['gpu', 'install'], /unknown sub-command 'install'/],
      [['gpu', 'setup', '--no-verify'], /Unknown option '--no-verify'/],
      [['gpu', 'setup', '--from'], /--from <value>' argument missing/],
      [['gpu', 'setup', '--from', ' '], /--from needs a path/],
      [['gpu', 'setup', 'extra'], /unexpected argument 'extra'/],
      [['gpu', 'check', '--verbose'], /Unknown option '--verbose'/],
    ] as const) {
      const r = await runAvvp([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/Run 'avvp gpu --help' for usage/);
    }
  });

  it('setup refuses a tarball that is not the pinned package (exit 1, nothing installed)', async () => {
    const dir = await tmp();
    const bin = await fakeOrt(dir);
    const tarball = join(dir, 'provider.tgz');
    await writeFile(tarball, tgz(packageEntries()));
    const r = await runAvvp(['gpu', 'setup', '--from', tarball, '--ort-dir', bin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /avvp gpu: .*provider\.tgz is not com\.github\.asus4\.onnxruntime\.linux-x64-gpu@0\.4\.9: its sha512 integrity/,
    );
    expect(r.stderr).not.toMatch(/--help/);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(bin)).toEqual(['libonnxruntime.so.1']);
  });

  it('setup refuses another onnxruntime-node version and says what to do', async () => {
    const dir = await tmp();
    const bin = await fakeOrt(dir, '1.31.1');
    const r = await runAvvp(['gpu', 'setup', '--from', join(dir, 'any.tgz'), '--ort-dir', bin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /onnxruntime-node 1\.31\.1 is installed.*npm install onnxruntime-node@1\.29\.0 --save-exact/,
    );
  });

  it('check --json: cpu ok (exit 0), cuda unavailable here, every provider reported', async () => {
    const r = await runAvvp(['gpu', 'check', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.onnxruntimeNode.version).toBe('1.29.0');
    const byName = Object.fromEntries(report.providers.map((p: { provider: string }) => [p.provider, p]));
    expect(Object.keys(byName)).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(byName.cpu).toMatchObject({ ok: true, outputMatches: true, output: [1, 3, 5, 7, 10, -11] });
    expect(typeof byName.webgpu.ok).toBe('boolean');
    if (!report.driver.present) {
      expect(report.driver.note).toMatch(/NVIDIA/);
      expect(byName.cuda.ok).toBe(false);
    }
  });

  it('check prints a readable report', async () => {
    const r = await runAvvp(['gpu', 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^onnxruntime-node +1\.29\.0$/m);
    expect(r.stdout).toMatch(
      /^ {2}cpu +ok, [\d.]+ ms \(open \+ first run\), output equals the expected values$/m,
    );
    expect(r.stdout).toMatch(/^ {2}cuda +(ok|unavailable: )/m);
    expect(r.stdout).toMatch(/libcudnn\.so\.9/);
    expect(r.stdout).toMatch(/^result: cpu works/m);
  });
});
