/** A size in bytes as people write it: `64MiB`, `1.5 GB`, `512MB`, `100` (bytes). */
export const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/;

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** `64MiB` → 67108864; a number is bytes already; NaN for what is not a size. */
export function parseSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = SIZE.exec(v);
  if (!m) return Number.NaN;
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!);
}
