/**
 * Field names made unique, as a header or a result's columns give them: an empty one is `colN`
 * (its 1-based position), a repeat of an earlier one gets `_2`, `_3`… (a suffix no other name
 * has). `warn` hears of each repeat renamed.
 */
export function uniqueNames(names: readonly string[], warn?: (msg: string) => void): string[] {
  const seen = new Set<string>();
  return names.map((raw, i) => {
    const base = raw === '' ? `col${i + 1}` : raw;
    let name = base;
    for (let k = 2; seen.has(name); k++) name = `${base}_${k}`;
    if (name !== base) warn?.(`column ${i + 1} repeats the name "${base}"; it is read as "${name}"`);
    seen.add(name);
    return name;
  });
}
