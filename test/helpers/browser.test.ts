import { describe, expect, it } from 'vitest';
import { browserCandidates, launchChromium } from './browser.ts';

describe('browser resolution', () => {
  it('tries MMALIGN_CHROMIUM, then the npm package, then the system browser only where it exists', () => {
    expect(browserCandidates({ MMALIGN_CHROMIUM: '/opt/c/chrome' }, '/bin/sh').map((c) => c.label)).toEqual([
      'MMALIGN_CHROMIUM=/opt/c/chrome',
      'the @sparticuz/chromium npm package',
      '/bin/sh',
    ]);
    expect(browserCandidates({}, '/no/such/chromium').map((c) => c.label)).toEqual([
      'the @sparticuz/chromium npm package',
    ]);
  });

  it('fails with one sentence naming every browser tried and why', async () => {
    const missing = { label: 'A', prepare: async () => ({ executablePath: '/no/such/chrome' }) };
    const broken = {
      label: 'B',
      prepare: async () => {
        throw new Error('cannot unpack');
      },
    };
    const err = await launchChromium([missing, broken]).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toMatch(
      /^No Chromium could start for the browser tests: tried A \(.*\/no\/such\/chrome.*\); B \(cannot unpack\); /,
    );
    expect(err).not.toContain('\n');
  });
});
