// The serve configuration: YAML file, --source flags and their merge; every error names the key.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SOURCE_POLICY } from '../../src/streams/sourcePolicy.js';
import {
  checkServeConfig,
  exposureProblem,
  isLoopbackHost,
  mergeServeConfig,
  parseSourceFlag,
  readServeConfig,
  SERVE_DEFAULTS,
} from '../../src/runtime/config.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-config-');

describe('serve configuration', () => {
  it('reads a full config and lets flags override it', async () => {
    const dir = await tmp();
    const file = join(dir, 'avvp.yaml');
    await writeFile(
      file,
      'port: 9000\nhost: 0.0.0.0\nmodels: ./m\nhead: link\ntoken: t0k\nlookahead: 1\nqueue: 3\nworkers: 2\n' +
        'decodeThreads: 2\ndecodeNice: 5\n' +
        'streams:\n  cam1: rtsp://10.0.0.5/live\n  clip: ./a.mp4\n',
    );
    const merged = mergeServeConfig(await readServeConfig(file), {
      port: 0,
      lookahead: undefined,
      streams: [parseSourceFlag('cam2=rtsp://u:p@10.0.0.6/x?a=b')],
    });
    expect(merged).toEqual({
      host: '0.0.0.0',
      port: 0,
      models: './m',
      head: 'link',
      token: 't0k',
      lookahead: 1,
      queue: 3,
      workers: 2,
      decodeThreads: 2,
      decodeNice: 5,
      streams: [
        { name: 'cam1', source: 'rtsp://10.0.0.5/live' },
        { name: 'clip', source: './a.mp4' },
        { name: 'cam2', source: 'rtsp://u:p@10.0.0.6/x?a=b' },
      ],
    });
    expect(mergeServeConfig({}, {})).toEqual({ ...SERVE_DEFAULTS, streams: [] });
    expect(await readServeConfig(await writeEmpty(dir))).toEqual({});
  });

  it.each([
    [{ lookahed: 1 }, /f: lookahed: unknown key; allowed: host, port/],
    [{ port: '80a' }, /f: port: must be an integer in \[0, 65535\], got "80a"/],
    [{ port: 1.5 }, /port: must be an integer/],
    [{ lookahead: 10 }, /lookahead: must be an integer in \[0, 9\]/],
    [{ queue: 0 }, /queue: must be an integer in \[1, 1000\]/],
    [{ workers: -1 }, /workers: must be an integer in \[1, 64\]/],
    [{ decodeThreads: 0 }, /decodeThreads: must be an integer in \[1, 64\]/],
    [{ decodeNice: -1 }, /decodeNice: must be an integer in \[0, 19\]/],
    [{ maxStreams: 0 }, /maxStreams: must be an integer in \[1, 10000\], got 0/],
    [{ providers: ['cuda'] }, /providers: must be a comma-separated list such as "cuda,cpu"/],
    [
      { providers: 'cuda,tpu' },
      /providers: unknown execution provider 'tpu': use a comma-separated list of cuda, webgpu, cpu/,
    ],
    [{ models: '' }, /models: must be a non-empty string/],
    [{ token: 5 }, /token: must be a non-empty string/],
    [{ token: '  ' }, /token: the token must not be empty or blank/],
    [{ token: 'a b' }, /token: the token must not contain spaces/],
    [{ queue: Infinity }, /queue: must be an integer in \[1, 1000\], got \.inf/],
    [{ queue: -Infinity }, /got -\.inf/],
    [{ queue: NaN }, /got \.nan/],
    [{ queue: null }, /got null \(an empty value\)/],
    [{ port: 1e21 }, /got 1e\+21/],
    [{ allowedHosts: 'a.example' }, /allowedHosts: must be a list of non-empty strings, got "a\.example"/],
    [{ allowedHosts: ['a.example:80'] }, /allowedHosts: 'a\.example:80' is not a host name/],
    [{ allowedOrigins: ['dash.example'] }, /allowedOrigins: 'dash\.example' is not an origin/],
    [{ allowedOrigins: ['https://dash.example/app'] }, /is not an origin/],
    [{ maxClientsPerAddress: 0 }, /maxClientsPerAddress: must be an integer in \[1, 10000\]/],
    [
      { sourcePolicy: ['rtsp'] },
      /sourcePolicy: must be a mapping of schemes, fileDirs, lavfi, allowLoopback/,
    ],
    [
      { sourcePolicy: { allowLoopback: 'yes' } },
      /sourcePolicy\.allowLoopback: must be true or false, got "yes"/,
    ],
    [
      { sourcePolicy: { scheme: ['rtsp'] } },
      /sourcePolicy\.scheme: unknown key; allowed: schemes, fileDirs, lavfi, allowLoopback/,
    ],
    [{ sourcePolicy: { schemes: ['RTSP'] } }, /sourcePolicy\.schemes: 'RTSP' is not a URL scheme/],
    [{ sourcePolicy: { schemes: ['rtsp://'] } }, /is not a URL scheme/],
    [{ sourcePolicy: { schemes: ['lavfi'] } }, /allow lavfi graphs with lavfi: true/],
    [
      { sourcePolicy: { fileDirs: ['/no/such/dir'] } },
      /sourcePolicy\.fileDirs: '\/no\/such\/dir' does not exist/,
    ],
    [{ sourcePolicy: { fileDirs: ['/etc/hostname'] } }, /'\/etc\/hostname' is not a folder/],
    [{ sourcePolicy: { lavfi: 'yes' } }, /sourcePolicy\.lavfi: must be true or false, got "yes"/],
    [{ streams: ['rtsp://x'] }, /streams: must be a mapping of stream name to source/],
    [{ streams: { cam1: 5 } }, /streams\.cam1: source must be a file path or URL of 1\.\.2048 characters/],
    [{ streams: { cam1: 'x'.repeat(3000) } }, /streams\.cam1: source must be/],
    [{ streams: { 'rtsp://user:secret@cam': 'a.mp4' } }, /streams: stream name looks like a URL/],
    [{ streams: { 'bad name': 'a.mp4' } }, /may use only letters, digits/],
    [[1, 2], /f: \(top level\): must be a mapping/],
  ])('%j is refused naming the key', (value, message) => {
    expect(() => checkServeConfig(value, 'f')).toThrow(message);
    try {
      checkServeConfig(value, 'f');
    } catch (err) {
      expect((err as Error).message).not.toMatch(/secret/);
    }
  });

  it.each([
    ['cam1', /--source: expected name=source/],
    ['=rtsp://x', /--source: expected name=source/],
    ['cam1=', /--source: source must be a file path or URL/],
    ['rtsp://admin:secret@10.0.0.5/live=1', /--source: stream name looks like a URL/],
  ])('--source %s is refused', (text, message) => {
    expect(() => parseSourceFlag(text)).toThrow(message);
    expect(() => parseSourceFlag(text)).not.toThrow(/secret/);
  });

  it('refuses a stream name given twice, unreadable files and broken YAML', async () => {
    const twice = [parseSourceFlag('a=x.mp4'), parseSourceFlag('a=y.mp4')];
    expect(() => mergeServeConfig({ streams: [twice[0]!] }, { streams: [twice[1]!] })).toThrow(
      /stream name a is given twice/,
    );
    await expect(readServeConfig('/no/such/avvp.yaml')).rejects.toThrow(
      /cannot read config '\/no\/such\/avvp.yaml' \(ENOENT\)/,
    );
    const dir = await tmp();
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'port: [1, 2\n');
    await expect(readServeConfig(broken)).rejects.toThrow(/broken\.yaml is not valid YAML/);
  });
});

describe('security settings', () => {
  it('reads allowedHosts, allowedOrigins, maxClientsPerAddress and sourcePolicy, and adds the flags to them', async () => {
    const dir = await tmp();
    const file = join(dir, 'sec.yaml');
    await writeFile(
      file,
      'allowedHosts: [avvp.example, .Corp.Example, "[::1]"]\nallowedOrigins: ["https://Dash.example/"]\n' +
        `maxClientsPerAddress: 4\nsourcePolicy:\n  schemes: [rtsp]\n  fileDirs: [${dir}, .]\n`,
    );
    const read = await readServeConfig(file);
    expect(read).toEqual({
      allowedHosts: ['avvp.example', '.corp.example', '::1'],
      allowedOrigins: ['https://dash.example'],
      maxClientsPerAddress: 4,
      sourcePolicy: { schemes: ['rtsp'], fileDirs: [dir, process.cwd()], lavfi: false, allowLoopback: false },
    });
    const merged = mergeServeConfig(read, {
      allowedHosts: ['other.example', 'avvp.example'],
      sourcePolicy: { schemes: ['srt'], fileDirs: [], lavfi: true, allowLoopback: true },
    });
    expect(merged.allowedHosts).toEqual(['avvp.example', '.corp.example', '::1', 'other.example']);
    expect(merged.allowedOrigins).toEqual(['https://dash.example']);
    expect(merged.sourcePolicy).toEqual({
      schemes: ['rtsp', 'srt'],
      fileDirs: [dir, process.cwd()],
      lavfi: true,
      allowLoopback: true,
    });
    // Flags alone add to the default policy; nothing given leaves it to the runtime's default.
    expect(
      mergeServeConfig({}, { sourcePolicy: { schemes: ['rtmp'], fileDirs: [], lavfi: false } }).sourcePolicy,
    ).toEqual({
      ...DEFAULT_SOURCE_POLICY,
      schemes: [...DEFAULT_SOURCE_POLICY.schemes, 'rtmp'],
    });
    expect(mergeServeConfig({}, {}).sourcePolicy).toBeUndefined();
    // A YAML policy without schemes keeps the default schemes.
    expect(checkServeConfig({ sourcePolicy: { lavfi: true } }, 'f').sourcePolicy).toEqual({
      ...DEFAULT_SOURCE_POLICY,
      lavfi: true,
    });
  });

  it('a server reachable from other machines needs a token', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'my-host', '::ffff:10.0.0.5'])
      expect(isLoopbackHost(host), host).toBe(false);
    expect(exposureProblem({ host: '127.0.0.1' })).toBeUndefined();
    expect(exposureProblem({ host: '0.0.0.0', token: 't' })).toBeUndefined();
    expect(exposureProblem({ host: '0.0.0.0' })).toMatch(
      /--host 0\.0\.0\.0 is reachable from other machines but no token is set: set AVVP_TOKEN or --token-file FILE/,
    );
  });
});

async function writeEmpty(dir: string): Promise<string> {
  const file = join(dir, 'empty.yaml');
  await writeFile(file, '');
  return file;
}
