// Finds the ffmpeg binary and its version: FFMPEG_PATH, else `ffmpeg` on PATH, else the static
// build inside the optional npm package @ffmpeg-installer/ffmpeg (ffmpeg 4.1). The version
// matters because some options changed between 4.x and 5.x (see args.ts).
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

export type FfmpegOrigin = 'FFMPEG_PATH' | 'PATH' | '@ffmpeg-installer/ffmpeg';

export interface FfmpegBinary {
  path: string;
  origin: FfmpegOrigin;
  /** The version token printed by `ffmpeg -version`, e.g. '5.1.9-0+deb12u1' or 'N-47683-g0e8eb07980-static'. */
  version: string;
  /** libavformat version: the reliable way to tell releases apart (static builds print a git id). */
  libavformat: { major: number; minor: number };
}

export class FfmpegNotFoundError extends Error {
  constructor(detail: string) {
    super(
      `${detail}. Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg), set FFMPEG_PATH to an ffmpeg ` +
        'binary, or install the optional npm package @ffmpeg-installer/ffmpeg.',
    );
    this.name = 'FfmpegNotFoundError';
  }
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of the npm-shipped binary, or undefined when that package is not installed. */
  installerPath?: () => string | undefined;
}

const versions = new Map<string, Promise<Omit<FfmpegBinary, 'origin'>>>();

/** Locates ffmpeg and reads its version (cached per binary path). */
export async function locateFfmpeg(options: LocateOptions = {}): Promise<FfmpegBinary> {
  const env = options.env ?? process.env;
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!(await isExecutableFile(fromEnv)))
      throw new FfmpegNotFoundError(`FFMPEG_PATH is set to '${fromEnv}', which is not an executable file`);
    return { ...(await readVersion(fromEnv)), origin: 'FFMPEG_PATH' };
  }
  const onPath = await findOnPath('ffmpeg', env.PATH ?? '');
  if (onPath) return { ...(await readVersion(onPath)), origin: 'PATH' };
  const shipped = (options.installerPath ?? installerBinary)();
  if (shipped && (await isExecutableFile(shipped)))
    return { ...(await readVersion(shipped)), origin: '@ffmpeg-installer/ffmpeg' };
  throw new FfmpegNotFoundError('ffmpeg was not found (FFMPEG_PATH unset, no ffmpeg on PATH)');
}

/** Parses `ffmpeg -version` output; exported for tests. */
export function parseVersionOutput(text: string): {
  version: string;
  libavformat: { major: number; minor: number };
} {
  const version = /^ffmpeg version (\S+)/m.exec(text)?.[1];
  const lavf = /^libavformat\s+(\d+)\.\s*(\d+)\./m.exec(text);
  if (!version || !lavf) throw new Error('output does not look like `ffmpeg -version`');
  return { version, libavformat: { major: Number(lavf[1]), minor: Number(lavf[2]) } };
}

function readVersion(binary: string): Promise<Omit<FfmpegBinary, 'origin'>> {
  let cached = versions.get(binary);
  if (!cached) {
    cached = new Promise((resolve, reject) => {
      execFile(binary, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
        try {
          if (err) throw err;
          resolve({ path: binary, ...parseVersionOutput(stdout) });
        } catch (e) {
          versions.delete(binary);
          reject(new FfmpegNotFoundError(`'${binary}' did not run as ffmpeg (${(e as Error).message})`));
        }
      });
    });
    versions.set(binary, cached);
  }
  return cached;
}

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function installerBinary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return undefined; // optional dependency not installed (or no build for this platform)
  }
}
