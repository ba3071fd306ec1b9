import { z } from 'zod';
import type { Db } from './db.ts';

/** Per-project settings, kept in the `meta` table so they survive restarts and travel with the project folder. */
export const Settings = z.strictObject({
  name: z.string().min(1).max(200).default('studio'),
  /** k: how many annotators label each task (Argilla's `overlap`). */
  overlap: z.number().int().min(1).max(100).default(2),
  /** AI-judge suggestions are hidden by default so annotators are not anchored by them. */
  showAiSuggestions: z.boolean().default(false),
  guidelines: z.string().max(100_000).default(defaultGuidelines()),
  aspects: z.array(z.string().min(1).max(60)).min(1).max(12).default(['helpfulness', 'visual faithfulness', 'ethics']),
  scale: z
    .tuple([z.number().int(), z.number().int()])
    .refine(([lo, hi]) => hi > lo && hi - lo <= 20, 'scale must be [min, max] with min < max and at most 21 steps')
    .default([1, 5]),
});
export type Settings = z.infer<typeof Settings>;
export const SettingsPatch = Settings.partial();

function defaultGuidelines(): string {
  return [
    'Look at the image(s) first, then read the prompt and every response.',
    'Pairwise: pick the response that is more helpful AND faithful to the image. Tie = equally good; both bad = neither is acceptable.',
    'Ranking: 1 is best; give equal ranks to responses of equal quality.',
    'Segment correction: select each hallucinated span, tag what kind of error it is, type the corrected text, and optionally draw a box on the image region it contradicts.',
    'Binary: good = you would be happy to train the model on this answer.',
  ].join('\n\n');
}

export function getSettings(db: Db): Settings {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('settings') as { value: string } | undefined;
  return Settings.parse(row ? JSON.parse(row.value) : {});
}

export function putSettings(db: Db, patch: z.infer<typeof SettingsPatch>): Settings {
  const next = Settings.parse({ ...getSettings(db), ...patch });
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
    'settings',
    JSON.stringify(next),
  );
  return next;
}
