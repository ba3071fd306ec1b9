import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { launchChromium } from './browser.ts';

describe('the browser the tests get', () => {
  it('starts and draws text in the npm DejaVu fonts', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 400, height: 120 } });
      await page.setContent(
        '<body style="margin:0;background:#fff"><p id="t" style="font:40px system-ui,sans-serif;margin:20px">Hg ≥ Δ</p></body>',
      );
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('DOM.enable');
      await cdp.send('CSS.enable');
      const { root } = await cdp.send('DOM.getDocument');
      const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#t' });
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      expect(fonts.map((f) => f.familyName)).toEqual(['DejaVu Sans']);
      // Without any font Chromium draws nothing at all, so count the dark pixels the glyphs leave.
      const png = PNG.sync.read(await page.screenshot());
      let dark = 0;
      for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 128) dark++;
      expect(dark).toBeGreaterThan(500);
    } finally {
      await browser.close();
    }
  });
});
