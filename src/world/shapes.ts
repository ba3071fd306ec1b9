import type { Category } from './vocab.ts';

/**
 * Shape masks in object-local coordinates: (u, v) ∈ [-1, 1]², y pointing down, radius 1 = the object's half-size.
 * Pixels are hard-edged (no anti-aliasing) so every object pixel has exactly the object's color: ground truth is exact.
 */
type Mask = (u: number, v: number) => boolean;

function polygon(points: readonly (readonly [number, number])[]): Mask {
  return (u, v) => {
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

function regular(n: number, radius: number, phase: number): [number, number][] {
  return Array.from({ length: n }, (_, k) => {
    const a = phase + (2 * Math.PI * k) / n;
    return [radius * Math.cos(a), radius * Math.sin(a)];
  });
}

const starPoints: [number, number][] = Array.from({ length: 10 }, (_, k) => {
  const a = -Math.PI / 2 + (Math.PI * k) / 5;
  const r = k % 2 === 0 ? 1.05 : 0.45;
  return [r * Math.cos(a), r * Math.sin(a) + 0.08];
});

export const SHAPE_MASKS: Record<Category, Mask> = {
  circle: (u, v) => u * u + v * v <= 1,
  square: (u, v) => Math.abs(u) <= 0.85 && Math.abs(v) <= 0.85,
  triangle: polygon([
    [0, -1],
    [1, 0.85],
    [-1, 0.85],
  ]),
  star: polygon(starPoints),
  cross: (u, v) => (Math.abs(u) <= 0.33 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.33 && Math.abs(u) <= 1),
  heart: (u, v) => {
    // (x² + y² − 1)³ − x² y³ ≤ 0, scaled into the unit box, y up.
    const x = u * 1.2;
    const y = -v * 1.2 + 0.15;
    const a = x * x + y * y - 1;
    return a * a * a - x * x * y * y * y <= 0;
  },
  diamond: (u, v) => Math.abs(u) + Math.abs(v) * 0.85 <= 1,
  ring: (u, v) => {
    const r2 = u * u + v * v;
    return r2 <= 1 && r2 >= 0.5 * 0.5;
  },
  hexagon: polygon(regular(6, 1, 0)),
  arrow: polygon([
    [-1, -0.3],
    [0.1, -0.3],
    [0.1, -0.8],
    [1, 0],
    [0.1, 0.8],
    [0.1, 0.3],
    [-1, 0.3],
  ]),
  moon: (u, v) => u * u + v * v <= 1 && (u - 0.5) * (u - 0.5) + (v + 0.15) * (v + 0.15) > 0.75 * 0.75,
  oval: (u, v) => u * u + (v / 0.6) * (v / 0.6) <= 1,
};
