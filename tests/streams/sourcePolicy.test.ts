// checkSource: what POST /v1/streams may open (issue 13, item 1). The attacks reported there, the
// ffmpeg pseudo-protocols, option smuggling, files outside the allowed folders (symbolic links
// included) and local services are refused with a message naming the rule, never the credentials.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SOURCE_POLICY,
  SourcePolicyError,
  checkSource,
  isLocalHost,
  type SourcePolicy,
} from '../../src/streams/sourcePolicy.js';
import { tempDir } from '../helpers/media.js';

const refusal = (source: string, policy: SourcePolicy = DEFAULT_SOURCE_POLICY): string => {
  try {
    checkSource(source, policy);
  } catch (err) {
    expect(err).toBeInstanceOf(SourcePolicyError);
    return (err as Error).message;
  }
  return 'allowed';
};

describe('checkSource', () => {
  it('allows network cameras and streams by default', () => {
    for (const s of [
      'rtsp://cam.local/stream1',
      'rtsp://user:p%40ss@10.0.0.5:554/live',
      'rtsps://cam.example.com/x',
      'http://cam.example.com/video.mjpg',
      'https://cdn.example.com/live/index.m3u8?token=abc',
      'srt://10.0.0.9:9000',
    ])
      expect(refusal(s), s).toBe('allowed');
  });

  it('refuses the attacks of issue 13: lavfi file write and read, local services', () => {
    expect(refusal('lavfi:sine,metadata=mode=print:file=/tmp/victim')).toMatch(/lavfi.*--allow-lavfi/);
    expect(refusal('lavfi:movie=filename=/etc/passwd:f=concat')).toMatch(/lavfi/);
    expect(refusal('tcp://127.0.0.1:22')).toMatch(/scheme 'tcp' is not allowed.*--allow-scheme tcp/);
    expect(refusal('http://127.0.0.1:8080/v1/streams')).toMatch(/this machine.*allowLoopback/);
  });

  it('refuses ffmpeg pseudo-protocols whatever the allowed schemes', () => {
    const all: SourcePolicy = { ...DEFAULT_SOURCE_POLICY, schemes: ['concat', 'subfile', 'pipe', 'data'] };
    for (const s of [
      'concat:/etc/passwd',
      'subfile:,,start,0,end,0,,:/etc/passwd',
      'pipe:0',
      'data:text/plain;base64,aGk=',
      'crypto:/etc/passwd',
      'async:file:/etc/passwd',
      'cache:http://x/y',
      'ffrtmphttp://x/y',
      'hls+http://x/y.m3u8',
    ])
      expect(refusal(s, all), s).toMatch(/pseudo-protocol|"\|"/);
    expect(refusal('concat:a.mp4|/etc/passwd', all)).toMatch(/"\|"/);
  });

  it('refuses option smuggling and control characters', () => {
    expect(refusal('-f lavfi')).toMatch(/starts with "-"/);
    expect(refusal('rtsp://cam/x\n-i /etc/passwd')).toMatch(/control characters/);
    expect(refusal('rtsp://cam/x\u0000')).toMatch(/control characters/);
    expect(refusal(' rtsp://cam/x')).toMatch(/white space/);
    expect(refusal('')).toMatch(/empty/);
    expect(refusal('rtsp:cam/x')).toMatch(/names no host/);
  });

  it('refuses loopback and link-local hosts in every spelling unless allowLoopback', () => {
    for (const host of [
      'localhost',
      'LOCALHOST.',
      'x.localhost',
      '127.0.0.1',
      '127.1',
      '2130706433',
      '0x7f.0.0.1',
      '0177.0.0.1',
      '0.0.0.0',
      '169.254.169.254',
      '[::1]',
      '[::]',
      '[fe80::1]',
      '[::ffff:127.0.0.1]',
    ]) {
      expect(refusal(`rtsp://${host}:554/x`), host).toMatch(/this machine or a link-local address/);
      expect(refusal(`http://${host}/x`), host).toMatch(/this machine or a link-local address/);
    }
    expect(refusal('rtsp://%31%32%37.0.0.1/x')).toMatch(/link-local/);
    const local = { ...DEFAULT_SOURCE_POLICY, allowLoopback: true };
    expect(refusal('rtsp://127.0.0.1:8554/cam', local)).toBe('allowed');
    for (const host of ['10.0.0.1', '192.168.1.2', 'cam.local', '::ffff:1.2.3.4', '2001:db8::1'])
      expect(isLocalHost(host), host).toBe(false);
  });

  it('never echoes credentials', () => {
    const policy = { ...DEFAULT_SOURCE_POLICY, schemes: ['rtsp'] };
    for (const s of [
      'http://admin:hunter22@127.0.0.1/x',
      'rtmp://admin:hunter22@cam/x',
      'rtsp://admin:hunter22@[::1]/x',
    ]) {
      const message = refusal(s, policy);
      expect(message).not.toBe('allowed');
      expect(message).not.toContain('hunter22');
      expect(message).not.toContain('admin');
    }
  });

  it('allows files only inside fileDirs, after resolving symbolic links', () => {
    const t = tempDir('avvp-policy-');
    const media = t.file('media');
    const outside = t.file('outside');
    mkdirSync(media);
    mkdirSync(outside);
    writeFileSync(`${media}/clip.mp4`, 'x');
    writeFileSync(`${outside}/secret.txt`, 'x');
    symlinkSync(`${outside}/secret.txt`, `${media}/escape.mp4`);
    symlinkSync(outside, `${media}/dir-link`);
    const policy: SourcePolicy = { ...DEFAULT_SOURCE_POLICY, fileDirs: [media] };

    expect(refusal(`${media}/clip.mp4`, policy)).toBe('allowed');
    expect(refusal(`file://${media}/clip.mp4`, policy)).toBe('allowed');
    expect(refusal(`file:${media}/clip.mp4`, policy)).toBe('allowed');
    expect(refusal(`${media}/clip.mp4`)).toMatch(/files are not allowed.*--source-dir/);
    expect(refusal('/etc/passwd', policy)).toMatch(/not a file inside the allowed folders.*--source-dir/);
    expect(refusal(`${media}/../outside/secret.txt`, policy)).toMatch(/not a file inside/);
    expect(refusal(`file://${outside}/secret.txt`, policy)).toMatch(/not a file inside/);
    expect(refusal(`${media}/escape.mp4`, policy)).toMatch(/not a file inside/);
    expect(refusal(`${media}/dir-link/secret.txt`, policy)).toMatch(/not a file inside/);
    expect(refusal(media, policy)).toMatch(/not a file inside/);
    // Outside the folders, a missing file gets the same answer as an existing one: no probing.
    expect(refusal('/no/such/file', policy)).toBe(
      refusal('/etc/passwd', policy).replace('/etc/passwd', '/no/such/file'),
    );
    expect(refusal(`${media}/missing.mp4`, policy)).toMatch(/no such file in the allowed folders/);
  });

  it('allows lavfi graphs only when the policy says so', () => {
    expect(refusal('lavfi:testsrc=d=1', { ...DEFAULT_SOURCE_POLICY, lavfi: true })).toBe('allowed');
  });
});
