/**
 * Field names made unique, as a header or a result's columns give them: an empty one is `colN`
 * (its 1-based position), a repeat of an earlier one gets `_2`, `_3`… (a suffix no other name
 * has). `warn` hears of each repeat renamed.
 */
export function uniqueNames(names: readonly string[], warn?: (msg: string) => void): string[] {
  // The names given are kept for their first use: a made-up name (a suffix, colN) avoids them all,
  // or `a, a, a_2` would rename the real a_2.
  const given = new Set(names.filter((n) => n !== ''));
  const seen = new Set<string>();
  const taken = (name: string, raw: string) => seen.has(name) || (name !== raw && given.has(name));
  return names.map((raw, i) => {
    const base = raw === '' ? `col${i + 1}` : raw;
    let name = base;
    for (let k = 2; taken(name, raw); k++) name = `${base}_${k}`;
    if (name !== base) warn?.(`column ${i + 1} repeats the name "${base}"; it is read as "${name}"`);
    seen.add(name);
    return name;
  });
}
