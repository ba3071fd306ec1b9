/**
 * Python's float rounding and printing, so figures the references compute with `round(x, n)` and `str(float)`
 * come out identical: `round` rounds the exact binary value half-to-even (round(2.675, 2) = 2.67,
 * round(0.125, 2) = 0.12), and `str` prints the shortest repr with ".0" for integers and "e-05"-style exponents.
 */

/** Python 3 `round(x, nd)` for nd ≥ 0. Exact for |x| ≥ 2^-40 (toFixed(100) holds the binary value's digits). */
export function pyRound(x: number, nd: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  const neg = x < 0;
  const s = Math.abs(x).toFixed(100);
  const dot = s.indexOf('.');
  const intPart = s.slice(0, dot);
  const frac = s.slice(dot + 1);
  const keep = intPart + frac.slice(0, nd);
  const rest = frac.slice(nd);
  let up = false;
  if (rest[0] > '5') up = true;
  else if (rest[0] === '5') {
    if (/[1-9]/.test(rest.slice(1))) up = true;
    else up = Number(keep[keep.length - 1]) % 2 === 1;
  }
  let digits = keep;
  if (up) {
    const arr = digits.split('').map(Number);
    let i = arr.length - 1;
    while (i >= 0) {
      if (arr[i] === 9) {
        arr[i] = 0;
        i--;
      } else {
        arr[i]++;
        break;
      }
    }
    digits = (i < 0 ? '1' : '') + arr.join('');
  }
  const intLen = digits.length - nd;
  const str = nd === 0 ? digits : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  const v = Number(str);
  return neg ? -v : v;
}

/** Python 3 `str(float)` / `repr(float)`. */
export function pyFloatStr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const ax = Math.abs(x);
  const exp = Math.floor(Math.log10(ax));
  // Python switches to exponent notation when the decimal exponent is < -4 or >= 16.
  if (exp < -4 || exp >= 16) {
    const [mant, e] = x.toExponential().split('e');
    const en = Number(e);
    const es = `${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
    return `${mant}e${es}`;
  }
  const s = String(x);
  if (s.includes('e')) {
    // JS uses exponent notation below 1e-6 only; Python already handled above, so this is ≥ 1e-4: expand.
    return x.toFixed(20).replace(/0+$/, '');
  }
  return s.includes('.') ? s : `${s}.0`;
}
