export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export const rate = (rows: number, ms: number): string => (ms > 0 ? `${int((rows * 1000) / ms)}/s` : '-');

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC.
const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (s: string): number => s.replace(ANSI, '').length;
const pad = (s: string, width: number, right: boolean): string => {
  const fill = ' '.repeat(Math.max(0, width - visible(s)));
  return right ? fill + s : s + fill;
};

/** A plain text table: columns padded to their widest cell (colour codes not counted), numbers right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const numeric = head.map((_, i) => rows.every((r) => /^[-\d,.% ]*(ms|s|\/s)?$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i]!, numeric[i]! && i > 0))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
