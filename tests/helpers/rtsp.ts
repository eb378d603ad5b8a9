// A real GStreamer RTSP server on 127.0.0.1 for tests (tests/helpers/rtsp_server.py), with
// failure injection: kill (socket closed), pause (SIGSTOP: connection open, no data), restart
// on the same port. Reusable by any suite:
//
//   const support = rtspSupport();               // { available, reason }
//   describe.skipIf(skipRtsp(support))('...', () => { ... });
//   const server = await startRtspServer({ file }); server.url('/pattern'); await server.kill();
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The Debian interpreter: python3-gi belongs to it (a venv/pyenv python3 on PATH lacks gi). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));
const PACKAGES =
  'python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{good,bad,ugly} gstreamer1.0-libav gstreamer1.0-rtsp';

export interface RtspSupport {
  available: boolean;
  /** Why not, and what to install. */
  reason: string;
}

let support: RtspSupport | undefined;

/** Checks (once) that python3-gi, gst-rtsp-server and the needed GStreamer elements exist. */
export function rtspSupport(): RtspSupport {
  if (support) return support;
  const check = [
    'import gi',
    "gi.require_version('Gst', '1.0')",
    "gi.require_version('GstRtspServer', '1.0')",
    'from gi.repository import Gst, GstRtspServer',
    'Gst.init(None)',
    "missing = [e for e in ('x264enc', 'avenc_aac', 'rtph264pay', 'rtpmp4gpay', 'qtdemux', 'h264parse', 'aacparse') if not Gst.ElementFactory.find(e)]",
    "assert not missing, 'missing GStreamer elements: ' + ', '.join(missing)",
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', check], { encoding: 'utf8', timeout: 20_000 });
  const problem =
    result.error?.message ?? (result.status === 0 ? '' : result.stderr.trim().split('\n').pop());
  support = problem
    ? {
        available: false,
        reason: `GStreamer RTSP server not usable (${problem}); install: apt-get install ${PACKAGES}`,
      }
    : { available: true, reason: '' };
  return support;
}

/**
 * For describe.skipIf: true (after printing why) when the server cannot run here. Under CI
 * (process.env.CI set) a missing server is an error, never a silent skip.
 */
export function skipRtsp(s: RtspSupport = rtspSupport()): boolean {
  if (s.available) return false;
  if (process.env.CI) throw new Error(`CI is set but the RTSP tests cannot run: ${s.reason}`);
  console.warn(`SKIPPED real-RTSP tests: ${s.reason}`);
  return true;
}

export interface RtspServerOptions {
  /** MP4 (H.264 + AAC) served at /file. */
  file?: string;
  /** Default 0: a free port chosen by the OS. */
  port?: number;
}

export interface RtspServer {
  readonly port: number;
  readonly pid: number;
  /** rtsp://127.0.0.1:<port><mount>; mounts: '/pattern' (live), '/file'. */
  url(mount?: string): string;
  /** SIGKILL: the server dies and its sockets close. */
  kill(): Promise<void>;
  /** SIGTERM: orderly shutdown. */
  stop(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing is sent (a hung camera). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Starts the server again on the same port (after kill or stop). */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startRtspServer(options: RtspServerOptions = {}): Promise<RtspServer> {
  let { child, port } = await launch(options.port ?? 0, options.file);
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (signal !== 'SIGCONT') child.kill('SIGCONT'); // a paused process must run to exit on SIGTERM
      child.kill(signal);
      await exited;
    }
    running.delete(child);
  };
  return {
    get port() {
      return port;
    },
    get pid() {
      return child.pid!;
    },
    url: (mount = '/pattern') => `rtsp://127.0.0.1:${port}${mount}`,
    kill: () => signalAndWait('SIGKILL'),
    stop: () => signalAndWait('SIGTERM'),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    restart: async () => {
      await signalAndWait('SIGKILL');
      ({ child, port } = await launch(port, options.file));
    },
  };
}

function launch(port: number, file: string | undefined): Promise<{ child: ChildProcess; port: number }> {
  const args = [SCRIPT, '--port', String(port), ...(file ? ['--file', file] : [])];
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('did not start listening within 15 s'), 15_000);
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      running.delete(child);
      reject(new Error(`RTSP test server ${why}: ${stderr.trim()}`));
    }
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code) => fail(`exited with code ${code}`));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      const m = /listening (\d+)/.exec(text);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.resume();
      resolve({ child, port: Number(m[1]) });
    });
  });
}
