/**
 * Tokenising and noun lemmatising for CHAIR-style object matching, without NLTK.
 * The references tokenise with NLTK (Punkt + Treebank) and lemmatise with pattern.en `singularize` (original CHAIR)
 * or WordNet with POS tags (OPERA, lmms-eval). We reproduce WordNet's noun morphology (`morphy` detachment rules
 * s, ses, xes, zes, ches, shes, men, ies, plus the f/fe → ves exceptions and irregular plurals) restricted to the
 * vocabulary that can matter (every word of every synonym and two-word entry), choosing the shortest candidate as
 * NLTK ≥ 3.8 does (so "glasses" → "glass", the form the "wine glass" merge needs).
 * Known deviation: no POS tagger, so words a tagger would lemmatise as verbs ("skiing" → "ski") stay unchanged.
 */

/** Lower-cased word tokens; hyphenated words stay whole (as in Treebank), apostrophes split. */
export function tokenize(text: string): string[] {
  const low = text.toLowerCase();
  // the ASCII pattern is several times faster than the Unicode one and gives the same tokens on ASCII text
  const ascii = isAscii(low);
  return (ascii ? low.match(/[a-z0-9]+(?:-[a-z0-9]+)*/g) : low.match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu)) ?? [];
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** Irregular plurals from WordNet's noun exception list that occur in object vocabularies. */
const IRREGULAR: Readonly<Record<string, string>> = {
  men: 'man',
  women: 'woman',
  children: 'child',
  mice: 'mouse',
  geese: 'goose',
  teeth: 'tooth',
  feet: 'foot',
  oxen: 'ox',
  knives: 'knife',
  wives: 'wife',
  leaves: 'leaf',
  shelves: 'shelf',
  calves: 'calf',
  halves: 'half',
  loaves: 'loaf',
  wolves: 'wolf',
  scarves: 'scarf',
  lives: 'life',
  dice: 'die',
  people: 'people',
  cattle: 'cattle',
  sheep: 'sheep',
};

/** WordNet `morphy` noun detachment rules (suffix → replacement). */
const RULES: ReadonlyArray<readonly [string, string]> = [
  ['s', ''],
  ['ses', 's'],
  ['xes', 'x'],
  ['zes', 'z'],
  ['ches', 'ch'],
  ['shes', 'sh'],
  ['men', 'man'],
  ['ies', 'y'],
  ['ves', 'f'],
  ['ves', 'fe'],
];

export type Lemmatizer = (token: string) => string;

/** A noun lemmatiser over `vocab`: a candidate singular is accepted only if the vocabulary knows it. */
export function makeLemmatizer(vocab: ReadonlySet<string>): Lemmatizer {
  const cache = new Map<string, string>();
  return (t: string) => {
    const hit = cache.get(t);
    if (hit !== undefined) return hit;
    let out = t;
    const irr = IRREGULAR[t];
    if (irr !== undefined) out = irr;
    else {
      let best: string | undefined = vocab.has(t) ? t : undefined;
      for (const [suf, rep] of RULES) {
        if (t.length > suf.length && t.endsWith(suf)) {
          const c = t.slice(0, t.length - suf.length) + rep;
          if (vocab.has(c) && (best === undefined || c.length < best.length)) best = c;
        }
      }
      if (best !== undefined) out = best;
    }
    cache.set(t, out);
    return out;
  };
}
