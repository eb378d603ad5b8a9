// `avvp gpu setup|check`: installing onnxruntime's CUDA provider libraries into onnxruntime-node
// (the one explicit step; `npm ci` never downloads them) and saying what this machine can run on.
// See docs/gpu.md.
import { describeCudaLibraries, findCudaLibraries } from '../../engine/gpu/cuda-libs.js';
import { PROVIDER_ORT_VERSION, PROVIDER_PACKAGE } from '../../engine/gpu/package.js';
import { GpuSetupError, installProviderLibraries } from '../../engine/gpu/setup.js';
import { CliError, parseCommandArgs, type Command } from '../command.js';

const PKG = `${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}`;

const usage = `Usage: avvp gpu setup [--from FILE.tgz] [--cache DIR] [--ort-dir DIR] [--force]
       avvp gpu check [--json]

setup   Install the CUDA execution provider of ONNX Runtime ${PROVIDER_ORT_VERSION} (built for CUDA 13)
        into onnxruntime-node: libonnxruntime_providers_cuda.so and _shared.so from the npm
        package ${PKG} (about 179 MB), verified against its pinned
        sha512 integrity, installed next to libonnxruntime.so.1 and checked by sha256. Then
        lists the CUDA 13 / cuDNN 9 libraries found and missing, and the LD_LIBRARY_PATH to
        export. Needs linux-x64 and onnxruntime-node ${PROVIDER_ORT_VERSION}. Does nothing when the
        right files are already installed.
  --from FILE   use this tarball (e.g. from 'npm pack ${PKG}' on another machine)
                instead of fetching it
  --cache DIR   where 'npm pack' puts the tarball (default $AVVP_GPU_CACHE, else
                ~/.cache/avvp/gpu)
  --ort-dir DIR onnxruntime-node's bin/napi-v6/linux/x64 folder (default: the one node resolves)
  --force       install again even when the right files are present

check   The NVIDIA driver and GPUs (nvidia-smi), onnxruntime-node's version, the provider
        libraries, the CUDA/cuDNN libraries, then a tiny model run on each execution provider
        (cuda, webgpu, cpu) with its time or the error. Exit status 0 when the cpu run gives
        the expected values (a missing GPU is information, not a failure), 1 otherwise.
  --json        print the report as JSON
`;

const gpu: Command = {
  name: 'gpu',
  summary: 'install the CUDA provider libraries (setup) and check what this machine can run on (check)',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'setup') return setup(rest);
    if (sub === 'check') return check(rest);
    throw new CliError(
      sub === undefined ? 'missing sub-command: setup or check' : `unknown sub-command '${sub}'`,
    );
  },
};
export default gpu;

const out = (line = '') => process.stdout.write(`${line}\n`);

async function setup(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    from: { type: 'string' },
    cache: { type: 'string' },
    'ort-dir': { type: 'string' },
    force: { type: 'boolean', default: false },
  });
  if (positionals.length > 0) throw new CliError(`unexpected argument '${positionals[0]}'`);
  for (const flag of ['from', 'cache', 'ort-dir'] as const)
    if (values[flag] !== undefined && values[flag].trim() === '')
      throw new CliError(`--${flag} needs a path`);
  let result;
  try {
    result = await installProviderLibraries({
      ...(values.from !== undefined ? { from: values.from } : {}),
      ...(values.cache !== undefined ? { cache: values.cache } : {}),
      ...(values['ort-dir'] !== undefined ? { ortDir: values['ort-dir'] } : {}),
      force: values.force,
      log: (line) => out(line),
    });
  } catch (err) {
    if (err instanceof GpuSetupError) throw new CliError(err.message, 1);
    throw err;
  }
  if (result.alreadyInstalled) out('nothing to do (--force installs again)');
  out();
  out('CUDA 13 / cuDNN 9 libraries the provider loads:');
  const libs = findCudaLibraries();
  for (const line of describeCudaLibraries(libs)) out(line);
  out();
  out(
    libs.missing.length === 0
      ? "next: run 'avvp gpu check' (with LD_LIBRARY_PATH exported as above, if a line is shown)"
      : "next: install the missing libraries, then run 'avvp gpu check'",
  );
  return 0;
}

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean', default: false } });
  if (positionals.length > 0) throw new CliError(`unexpected argument '${positionals[0]}'`);
  const { gpuCheck } = await import('../../engine/gpu/check.js');
  const report = await gpuCheck();
  if (values.json) {
    out(JSON.stringify(report, null, 2));
    return report.ok ? 0 : 1;
  }
  out(`platform            ${report.platform}`);
  if (report.driver.present)
    for (const g of report.driver.gpus) out(`GPU                 ${g.name}, driver ${g.driver}, ${g.memory}`);
  else out(`GPU                 ${report.driver.note}`);
  const o = report.onnxruntimeNode;
  out(
    `onnxruntime-node    ${o.version ?? 'unknown'}` +
      (o.matches
        ? ''
        : ` (the CUDA provider needs ${o.providerBuiltFor}: npm install onnxruntime-node@${o.providerBuiltFor})`),
  );
  out(`provider libraries  ${report.providerPackage}, in ${o.binDir}`);
  for (const l of report.providerLibraries)
    out(
      `  ${l.file.padEnd(36)} ${
        l.status === 'ok'
          ? 'installed, sha256 ok'
          : l.status === 'missing'
            ? 'not installed (run avvp gpu setup)'
            : 'sha256 does not match the pinned one (run avvp gpu setup --force)'
      }`,
    );
  out('CUDA 13 / cuDNN 9 libraries');
  for (const line of describeCudaLibraries(report.cudaLibraries)) out(line);
  out('execution providers (y = 2x + 1 on [2, 3])');
  for (const p of report.providers) {
    const what = p.ok
      ? `ok, ${p.ms!.toFixed(1)} ms (open + first run), output ${p.provider === 'cpu' ? 'equals' : 'matches'} the expected values`
      : `unavailable: ${p.error}`;
    out(`  ${p.provider.padEnd(7)} ${what}`);
  }
  const cuda = report.providers.find((p) => p.provider === 'cuda');
  out(
    report.ok
      ? `result: cpu works${cuda?.ok ? '; cuda works' : '; cuda is not available here (see above)'}`
      : 'result: the cpu provider failed',
  );
  return report.ok ? 0 : 1;
}
