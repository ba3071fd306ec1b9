import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullPageScreenshot, launchChromium } from '../../test/helpers/browser.ts';
import { ROOT, tempDir } from '../../test/helpers/cli.ts';
import { Preference, validateRecord } from '../schema/index.ts';
import { importRecords } from './server/import.ts';
import { type StudioServer, startStudio } from './server/serve.ts';
import { putSettings } from './server/settings.ts';
import { createUser } from './server/users.ts';
import { writeJudgePairs, writeSampleSet } from './testkit.ts';

/**
 * The studio end to end in a real Chromium (test/helpers/browser.ts picks which): two annotators label pairwise,
 * ranking and segment-correction tasks, alice with the keyboard only, bob with the mouse; an admin reads agreement,
 * adjudicates and exports.
 */
const SHOTS = path.join(ROOT, 'out/screenshots');
let tmp: ReturnType<typeof tempDir>;
let server: StudioServer;
let browser: Browser;
const tok: Record<string, string> = {};

/** Both annotators' rule for pairs and rankings, so their labels agree except where a test flips one. */
const better = (x: string, y: string) =>
  x.includes(' and a ') !== y.includes(' and a ') ? x.includes(' and a ') : x < y;

beforeAll(async () => {
  tmp = tempDir('studio-e2e-');
  mkdirSync(SHOTS, { recursive: true });
  const dir = path.join(tmp.dir, 'proj');
  server = await startStudio({ dir, port: 0 });
  const db = server.db;
  putSettings(db, { overlap: 2, name: 'e2e', showAiSuggestions: true });
  importRecords(db, dir, writeSampleSet(path.join(tmp.dir, 'pw'), 3, 2, { video: true, xss: true }), {
    type: 'pairwise',
  });
  importRecords(db, dir, writeJudgePairs(path.join(tmp.dir, 'pw'), 3));
  importRecords(db, dir, writeSampleSet(path.join(tmp.dir, 'rk'), 2, 3), { type: 'ranking' });
  importRecords(db, dir, writeSampleSet(path.join(tmp.dir, 'sg'), 1, 2), { type: 'segments' });
  importRecords(db, dir, writeSampleSet(path.join(tmp.dir, 'rt'), 1, 2), { type: 'rating' });
  importRecords(db, dir, writeSampleSet(path.join(tmp.dir, 'bn'), 1, 1), { type: 'binary' });
  for (const u of ['alice', 'bob']) tok[u] = createUser(db, u, 'annotator').token;
  tok.admin = createUser(db, 'root', 'admin').token;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  tmp?.cleanup();
});

async function open(user: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${server.url}/#token=${tok[user]}`);
  await page.waitForSelector('header .who');
  return page;
}

const texts = (page: Page) =>
  page.$$eval('.editor .response .response-text', (els) => els.map((e) => e.textContent ?? ''));

/** Wait until the page shows a different task than `prev` (or the home page when the queue is empty). */
async function nextTask(page: Page, prev: string | null): Promise<{ id: string; type: string } | null> {
  await page.waitForFunction(
    (p) => {
      const t = document.querySelector('section.task');
      return (t && t.getAttribute('data-task') !== p) || (!t && document.querySelector('section.home'));
    },
    prev,
    { timeout: 10_000 },
  );
  const el = await page.$('section.task');
  if (!el) return null;
  await page.waitForSelector('.stage img[src^="blob:"]');
  return { id: (await el.getAttribute('data-task'))!, type: (await el.getAttribute('class'))!.replace(/.*type-/, '') };
}

async function rankOf(ts: string[]): Promise<number[]> {
  return ts.map((t) => 1 + ts.filter((u) => better(u, t)).length);
}

async function shot(page: Page, name: string) {
  await fullPageScreenshot(page, path.join(SHOTS, `${name}.png`));
}

async function dragOver(page: Page, selector: string, from: [number, number], to: [number, number]) {
  const box = (await page.locator(selector).first().boundingBox())!;
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to[0], box.y + box.height * to[1], { steps: 4 });
  await page.mouse.up();
}

/** Mouse-select the first occurrence of `needle` in the segment text by dragging across it. */
async function mouseSelect(page: Page, needle: string) {
  const r = await page.evaluate((n) => {
    const walk = document.createTreeWalker(document.querySelector('.seg-text')!, NodeFilter.SHOW_TEXT);
    let node = walk.nextNode()!;
    while (!(node.textContent ?? '').includes(n)) node = walk.nextNode()!;
    const i = (node.textContent ?? '').indexOf(n);
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + n.length);
    const b = range.getBoundingClientRect();
    return { x0: b.left, x1: b.right, y: b.top + b.height / 2 };
  }, needle);
  await page.mouse.move(r.x0 + 1, r.y);
  await page.mouse.down();
  await page.mouse.move(r.x1 - 1, r.y, { steps: 5 });
  await page.mouse.up();
}

let helpShown = false;

async function annotate(page: Page, who: 'alice' | 'bob', shots: boolean) {
  const seen = new Set<string>();
  await page.waitForSelector('section.home');
  await page.keyboard.press('Shift+N');
  await page.waitForSelector('section.task');
  let cur = await nextTask(page, null);
  while (cur) {
    seen.add(cur.type);
    const ts = await texts(page);
    const keyboard = who === 'alice';
    if (keyboard && !helpShown) {
      helpShown = true;
      await page.keyboard.press('?');
      await page.waitForSelector('.help');
      await shot(page, 'shortcuts');
      await page.keyboard.press('?');
    }
    if (cur.type === 'pairwise') {
      // bob disagrees on the first pairwise task, so the admin has something to adjudicate.
      let a = better(ts[0], ts[1]);
      if (who === 'bob' && cur.id === '1') a = !a;
      if (keyboard) {
        await page.keyboard.press(a ? 'a' : 'b');
        await page.keyboard.press('r');
        await page.keyboard.type('matches the image');
        await page.keyboard.press('Escape');
        await page.keyboard.press('+');
      } else {
        await page.click(`button[data-choice="${a ? 'A' : 'B'}"]`);
        await page.fill('textarea.reason', 'clicked');
        if (await page.$('.thumb')) await page.click('.thumb >> nth=2');
      }
      if (shots && (await page.$('.thumb'))) await shot(page, 'pairwise-video');
      if (shots && (await page.$('details.suggestions'))) {
        await page.click('details.suggestions summary');
        await shot(page, 'pairwise-ai-suggestion');
      }
    } else if (cur.type === 'ranking') {
      const ranks = await rankOf(ts);
      if (keyboard) for (const r of ranks) await page.keyboard.press(String(r));
      else
        for (const [i, r] of ranks.entries())
          await page.click(`.rank-row[data-pos="${'ABC'[i]}"] button[data-rank="${r}"]`);
      if (shots) await shot(page, 'ranking');
    } else if (cur.type === 'segments') {
      const text = ts[0];
      if (!text.includes('circle')) {
        if (keyboard) await page.keyboard.press('0');
        else await page.click('button.no-errors');
      } else if (keyboard) {
        for (const [span, fix, tag] of [
          ['circle', 'square', '2'],
          ['three', 'one', '3'],
        ]) {
          await page.keyboard.press('/');
          await page.keyboard.type(span);
          await page.keyboard.press('Enter');
          await page.keyboard.type(fix);
          await page.keyboard.press('Escape');
          await page.keyboard.press(tag);
        }
      } else {
        await mouseSelect(page, 'circle');
        await page.click('button.add');
        await page.fill('.seg-row[data-seg="0"] input.correction', 'square');
        await page.selectOption('.seg-row[data-seg="0"] select.tag', 'attribute');
        await page.click('.seg-row[data-seg="0"] button.box-btn');
        await dragOver(page, '.stage img', [0.55, 0.4], [0.9, 0.85]);
        await mouseSelect(page, 'three');
        await page.click('button.add');
        await page.fill('.seg-row[data-seg="1"] input.correction', 'one');
        await page.selectOption('.seg-row[data-seg="1"] select.tag', 'count');
        await page.waitForSelector('.overlay .box');
        if (shots) await shot(page, 'segments');
      }
    } else if (cur.type === 'rating') {
      // Scores follow the content, not the position (positions are shuffled per annotator).
      const scores = better(ts[0], ts[1]) ? [4, 5, 3, 2, 2, 1] : [2, 2, 1, 4, 5, 3];
      if (keyboard) {
        for (const d of scores) await page.keyboard.press(String(d));
        await page.keyboard.press('r');
        await page.keyboard.type('mentions a circle that is not there');
        await page.keyboard.press('Escape');
      } else {
        const aspects = ['helpfulness', 'visual faithfulness', 'ethics'];
        for (const [k, d] of scores.entries())
          await page.click(
            `.response[data-pos="${'AB'[Math.floor(k / 3)]}"] .aspect-row[data-aspect="${aspects[k % 3]}"] button[data-score="${d}"]`,
          );
        await page.fill('.response[data-pos="A"] .aspect-row[data-aspect="helpfulness"] input.rationale', 'complete');
      }
      if (shots) await shot(page, 'rating');
    } else if (cur.type === 'binary') {
      if (keyboard) await page.keyboard.press('g');
      else await page.click('button[data-choice="good"]');
      if (shots) await shot(page, 'binary');
    }
    // Autosave: a draft is stored before submit.
    await page.waitForFunction(() => document.querySelector('.save-state')?.textContent === 'draft saved');
    if (keyboard) await page.keyboard.press('Control+Enter');
    else await page.click('button.submit');
    cur = await nextTask(page, cur.id);
  }
  return seen;
}

describe('studio in a browser', () => {
  it('two annotators label every task type; XSS stays inert; an admin sees agreement, adjudicates and exports', async () => {
    const alice = await open('alice');
    expect(await annotate(alice, 'alice', false)).toEqual(
      new Set(['pairwise', 'ranking', 'segments', 'rating', 'binary']),
    );

    // Undo with the keyboard brings alice's last label back as an editable draft; she submits it again.
    await alice.keyboard.press('Shift+U');
    await alice.waitForSelector('section.task button.submit:not([disabled])');
    await alice.keyboard.press('Control+Enter');
    await alice.waitForSelector('section.home');

    await alice.keyboard.press('Shift+G');
    await alice.waitForSelector('.guide-text');
    await shot(alice, 'guidelines');

    const bob = await open('bob');
    expect(await annotate(bob, 'bob', true)).toEqual(new Set(['pairwise', 'ranking', 'segments', 'rating', 'binary']));

    // XSS: the payload tasks were shown to both; nothing ran and the markup is visible as text.
    await alice.goto(`${server.url}/#/task/1`);
    await alice.waitForSelector('.response-text');
    expect(await alice.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await alice.$$eval('.response-text script, .response-text img, .prompt script', (e) => e.length)).toBe(0);
    expect((await texts(alice)).join(' ')).toContain('<script>window.__xss = 1</script>');
    await shot(alice, 'xss-inert');

    const admin = await open('admin');
    await admin.goto(`${server.url}/#/admin`);
    await admin.waitForSelector('.agreement[data-type="pairwise"]');
    expect(await admin.textContent('.agreement[data-type="ranking"] .alpha')).toBe('1.000');
    expect(await admin.textContent('.agreement[data-type="rating"] .alpha')).toBe('1.000');
    expect(await admin.textContent('.agreement[data-type="pairwise"] table.pairs tbody')).toContain('alice');
    expect(await admin.textContent('table.judges')).toContain('closed_model:gpt-judge');
    await admin.waitForSelector('.disagreement[data-task="1"]');
    await shot(admin, 'admin');
    await admin.click('.disagreement[data-task="1"] button >> text=use alice');
    await admin.waitForSelector('.toast.show');
    await admin.click('button[data-export="majority"]');
    await admin.waitForSelector('.export-info a.download');
    expect(await admin.textContent('.export-info')).not.toContain('unresolved');
    await shot(admin, 'admin-export');

    for (const mode of ['majority', 'all']) {
      const text = await admin.evaluate(async (m) => {
        const r = await fetch(`/api/admin/export?mode=${m}`, {
          headers: { Authorization: `Bearer ${localStorage.getItem('mmalign-studio-token')}` },
        });
        return r.text();
      }, mode);
      const records = text
        .trim()
        .split('\n')
        .map((l) => Preference.parse(JSON.parse(l)));
      for (const r of records) expect(validateRecord('preference', r)).toEqual([]);
      const kinds = records.map((r) => r.kind).sort();
      // 4 pairwise tasks (3 samples + the judge's copy of the XSS sample), 2 rankings, 2 segment tasks.
      if (mode === 'all') expect(kinds.filter((k) => k === 'pair').length).toBe(8);
      const seg = records.find((r) => r.kind === 'segments');
      expect(seg?.kind).toBe('segments');
      if (seg?.kind === 'segments') {
        expect(seg.chosen.text).toContain('square next to one');
        expect(seg.segments.map((s) => s.tag)).toEqual(['attribute', 'count']);
      }
      const boxed = records.filter((r) => r.kind === 'segments' && r.segments[0].box);
      if (mode === 'all') expect(boxed.length).toBe(1);
    }
  }, 85_000);
});
