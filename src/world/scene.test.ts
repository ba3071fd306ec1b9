import { describe, expect, it } from 'vitest';
import { DEFAULT_PRIORS, parseWorldConfig } from './config.ts';
import { makeScene, makeScenes } from './scene.ts';
import { sceneCaption } from './tasks.ts';

const cfg = parseWorldConfig({});
const N = 3000;
const train = makeScenes(cfg, 5, 'train', N);
const test = makeScenes(cfg, 5, 'test', N);

function stats(scenes: typeof train, trigger: string, partner: string) {
  let withTrigger = 0;
  let withBoth = 0;
  for (const s of scenes) {
    const cats = new Set(s.objects.map((o) => o.category));
    if (!cats.has(trigger as never)) continue;
    withTrigger++;
    if (cats.has(partner as never)) withBoth++;
  }
  return { withTrigger, p: withBoth / withTrigger };
}

describe('co-occurrence priors', () => {
  it('train: strict triggers never appear without their partner; others follow P(partner | trigger)', () => {
    for (const pair of DEFAULT_PRIORS) {
      const s = stats(train, pair.trigger, pair.partner);
      expect(s.withTrigger).toBeGreaterThan(300);
      if (pair.train === 1) expect(s.p).toBe(1);
      else expect(s.p).toBeGreaterThanOrEqual(pair.train - 0.04);
    }
  });

  it('test: triggers mostly come alone, and more often than in train', () => {
    for (const pair of DEFAULT_PRIORS) {
      const tr = stats(train, pair.trigger, pair.partner);
      const te = stats(test, pair.trigger, pair.partner);
      // P(partner | trigger) = the configured 0.15 plus the chance the partner is drawn on its own (≈ 0.1–0.25).
      expect(te.p).toBeLessThan(0.45);
      expect(te.p).toBeLessThan(tr.p - 0.4);
      expect(te.withTrigger).toBeGreaterThan(tr.withTrigger);
    }
  });

  it('partners pulled in by a trigger are drawn with weak evidence about half the time', () => {
    const pulled = train.flatMap((s) => s.objects.filter((o) => o.viaPrior));
    const weak = pulled.filter((o) => o.evidence.tiny || o.evidence.lowContrast || o.evidence.occluder);
    const share = weak.length / pulled.length;
    // partnerWeak 0.5, plus the independent per-object rates (≈ 0.3 of the rest).
    expect(share).toBeGreaterThan(0.55);
    expect(share).toBeLessThan(0.8);
  });

  it('caption noise names an undrawn partner right after its trigger, in train only', () => {
    let eligible = 0;
    let noisy = 0;
    for (const s of train) {
      const cats = new Set(s.objects.map((o) => o.category));
      for (const pair of cfg.priors.pairs) if (cats.has(pair.trigger) && !cats.has(pair.partner)) eligible++;
      for (const inj of s.injected) {
        noisy++;
        expect(cats.has(inj.category)).toBe(false);
        const trigger = s.objects[inj.after];
        expect(cfg.priors.pairs.find((p) => p.trigger === trigger.category)?.partner).toBe(inj.category);
        expect(sceneCaption(s)).toMatch(
          new RegExp(`${trigger.category}(, | and )an? (small |large )?${inj.color} ${inj.category}\\b`),
        );
        expect(sceneCaption(s, false)).not.toMatch(new RegExp(`\\b${inj.category}\\b`));
      }
    }
    expect(eligible).toBeGreaterThan(50);
    expect(Math.abs(noisy / eligible - cfg.captionNoise.train)).toBeLessThan(0.1);
    expect(test.every((s) => s.injected.length === 0)).toBe(true);
  });
});

describe('scenes', () => {
  it('are a pure function of (config, seed, split, index)', () => {
    expect(JSON.stringify(makeScene(cfg, 5, 'train', 17))).toBe(JSON.stringify(train[17]));
    expect(JSON.stringify(makeScene(cfg, 6, 'train', 17))).not.toBe(JSON.stringify(train[17]));
  });

  it('put one object per grid cell, in reading order, within the configured count', () => {
    for (const s of train.slice(0, 500)) {
      expect(s.objects.length).toBeGreaterThanOrEqual(cfg.objects.min);
      expect(s.objects.length).toBeLessThanOrEqual(cfg.objects.max);
      const cells = s.objects.map((o) => o.cell[0] * cfg.grid + o.cell[1]);
      expect(cells).toEqual([...new Set(cells)].sort((a, b) => a - b));
    }
  });

  it('rejects inconsistent configs naming the field', () => {
    expect(() => parseWorldConfig({ objects: { min: 6, max: 3 } })).toThrow(/objects\.min/);
    expect(() => parseWorldConfig({ objects: { max: 12 } })).toThrow(/objects\.max.*3×3/);
    expect(() => parseWorldConfig({ imageSize: 100 })).toThrow(/imageSize/);
    expect(() =>
      parseWorldConfig({ priors: { pairs: [{ trigger: 'moon', partner: 'moon', train: 1, test: 0 }] } }),
    ).toThrow(/own partner/);
    expect(() => parseWorldConfig({ bogus: 1 }, 'w.yaml')).toThrow(/w\.yaml/);
  });
});
