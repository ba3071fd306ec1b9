/**
 * "Did you mean" for names looked up in the project's tables (objectives, engines, formats, suites, config keys):
 * the known names within Damerau–Levenshtein (optimal string alignment) distance 2 of the given one, closest first.
 * Case is ignored, so `DPO` suggests `dpo`.
 */

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent transpositions cost 1. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2: number[] = [];
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/** Known names within distance `max` of `name` (a name that only differs in case is distance 0), closest first. */
export function closestNames(name: string, known: readonly string[], max = 2): string[] {
  const lower = name.toLowerCase();
  return known
    .map((k) => ({ k, d: editDistance(lower, k.toLowerCase()) }))
    .filter((x) => x.d <= max && x.k !== name)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .map((x) => x.k);
}

/** ` (did you mean "x"?)` or ` (… "x" or "y"?)` for the nearest names (at most two), or '' when nothing is close. */
export function didYouMean(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  const all = closestNames(name, known);
  const best = all.length ? editDistance(lower, all[0]!.toLowerCase()) : 0;
  const near = all.filter((k) => editDistance(lower, k.toLowerCase()) === best).slice(0, 2);
  if (near.length === 0) return '';
  return ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)`;
}
