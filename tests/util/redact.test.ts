// redactUrl masks URL credentials by parsing (issue 13, item 3): the hard cases a single pattern
// missed (an unencoded '@', '/', ':' or space in the password, credentials in the query string).
import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl, urlSecrets } from '../../src/util/redact.js';

describe('redactUrl', () => {
  it.each([
    ['rtsp://user:pass@cam/x', 'rtsp://***@cam/x'],
    ['rtsp://user@cam/x', 'rtsp://***@cam/x'],
    ['rtsp://user:p@ss@cam.local:554/live', 'rtsp://***@cam.local:554/live'],
    ['rtsp://user:pa/ss@cam/x', 'rtsp://***@cam/x'],
    ['rtsp://user:pa:ss@cam/x', 'rtsp://***@cam/x'],
    ['rtsp://user:my secret@10.0.0.5/s', 'rtsp://***@10.0.0.5/s'],
    ['rtsp://u:p@[fe80::1]:554/x', 'rtsp://***@[fe80::1]:554/x'],
    ["cannot open 'rtsp://admin:a@b/c d@cam/x': refused", "cannot open 'rtsp://***@cam/x': refused"],
    ['http://cam/x?token=abc&keyframe=1', 'http://cam/x?token=***&keyframe=1'],
    [
      'https://h/p?Password=1&PASSWD=2&pass=3&pwd=4&api_key=5&access_token=6&X-Amz-Signature=7&sig=8&secret=9&auth=a&key=b#f',
      'https://h/p?Password=***&PASSWD=***&pass=***&pwd=***&api_key=***&access_token=***&X-Amz-Signature=***&sig=***&secret=***&auth=***&key=***#f',
    ],
    ['srt://h:9000?passphrase=longsecret&latency=200', 'srt://h:9000?passphrase=***&latency=200'],
    ['a http://u:p@h1/x then rtsp://v:q@h2/y', 'a http://***@h1/x then rtsp://***@h2/y'],
    ['line rtsp://u:p@h/x\nnext a@b', 'line rtsp://***@h/x\nnext a@b'],
    ['rtsp://cam/x: 401 Unauthorized', 'rtsp://cam/x: 401 Unauthorized'],
    [
      '[tcp @ 0x55d] Connection to tcp://10.0.0.5:554?timeout=0 failed',
      '[tcp @ 0x55d] Connection to tcp://10.0.0.5:554?timeout=0 failed',
    ],
    ['no URL here: user:pass', 'no URL here: user:pass'],
  ])('%s', (text, masked) => {
    expect(redactUrl(text)).toBe(masked);
  });

  it('masks the literal secrets of a known source wherever they are quoted', () => {
    const secrets = urlSecrets('rtsp://admin:p@ss/w:rd x@cam.local/live?token=tok123');
    expect(secrets).toContain('p@ss/w:rd x');
    expect(secrets).toContain('tok123');
    expect(redactSecrets('auth failed for admin with p@ss/w:rd x (tok123)', secrets)).toBe(
      'auth failed for *** with *** (***)',
    );
    expect(urlSecrets('rtsp://cam/x')).toEqual([]);
  });
});
