import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fullPageScreenshot, launchChromium } from '../../test/helpers/browser.ts';
import { ROOT, tempDir } from '../../test/helpers/cli.ts';
import { runSuite } from '../eval/run/runner.ts';
import { ScriptedModel } from '../eval/run/scripted-model.ts';
import { compareRunsCli } from './compare-cli.ts';

/**
 * Opens report.html (and a compare page) in a real Chromium (test/helpers/browser.ts picks which): every dimension's
 * table and chart must render with a non-empty box, no console error, no network request. Screenshots go to
 * out/screenshots/.
 * MMALIGN_EVAL_REPORT=path/to/report.html (and MMALIGN_EVAL_COMPARE=path/to/compare.html) check given pages (e.g.
 * from `eval run` on a checkpoint) instead of ones built here from a scripted model's answers and the real scorers.
 */
const SHOTS = path.join(ROOT, 'out/screenshots');

describe('report.html in a browser', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it('renders tables and charts without console errors or network', async () => {
    let report = process.env.MMALIGN_EVAL_REPORT;
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await runSuite({
      suite: 'shapes',
      modelSpec: 'scripted',
      model: new ScriptedModel(),
      out: a,
      seed: 5,
      limit: 8,
      resamples: 200,
    });
    const pope = new ScriptedModel();
    pope.answer = (s) =>
      s.task === 'pope' ? String((s.truth as { label: string }).label) : ScriptedModel.prototype.answer.call(pope, s);
    await runSuite({
      suite: 'shapes',
      modelSpec: 'scripted-2',
      model: pope,
      out: b,
      seed: 5,
      limit: 8,
      resamples: 200,
    });
    report ??= path.join(a, 'report.html');
    let comparePage = process.env.MMALIGN_EVAL_COMPARE;
    if (!comparePage) {
      comparePage = path.join(dir, 'compare.html');
      compareRunsCli([a, b], { out: comparePage, resamples: 200 });
    }

    mkdirSync(SHOTS, { recursive: true });
    const browser = await launchChromium();
    try {
      for (const [file, shot, minCharts] of [
        [report, process.env.MMALIGN_EVAL_REPORT ? 'eval-report-given.png' : 'eval-report.png', 6],
        [comparePage, process.env.MMALIGN_EVAL_COMPARE ? 'eval-compare-given.png' : 'eval-compare.png', 6],
      ] as const) {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        page.on('request', (r) => {
          if (!r.url().startsWith('file:')) requests.push(r.url());
        });
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
        const info = await page.evaluate(() => {
          const boxes = (sel: string) =>
            Array.from(document.querySelectorAll(sel))
              .map((e) => e.getBoundingClientRect())
              .map((r) => ({ w: r.width, h: r.height }));
          return {
            tables: boxes('table.bench'),
            charts: boxes('svg.chart'),
            bars: Array.from(document.querySelectorAll('svg.chart rect.bar')).filter(
              (r) => r.getBoundingClientRect().width > 0,
            ).length,
            sections: document.querySelectorAll('section.dimension').length,
            title: document.title,
          };
        });
        expect(problems, file).toEqual([]);
        expect(requests, file).toEqual([]);
        expect(info.sections).toBe(6);
        expect(info.charts.length).toBeGreaterThanOrEqual(minCharts);
        for (const c of [...info.charts, ...info.tables]) expect(c.w * c.h).toBeGreaterThan(1000);
        expect(info.bars).toBeGreaterThan(10);
        await fullPageScreenshot(page, path.join(SHOTS, shot));
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 120_000);
});
