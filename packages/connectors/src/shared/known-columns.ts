import type { KnownColumn } from '@sluice/core';

/**
 * The `columns` hooks of the built-in transforms (see KnownColumn in core): what each one does to
 * the set of columns, so a later check (the `sql` transform binding its query) sees them.
 */

/** A transform that passes rows' fields through as they are (filter, validate, dedupe). */
export const sameColumns = (_config: unknown, input: readonly KnownColumn[] | undefined) => input;

/** `names` in order, each with its type from `input` when known there. */
export function pick(names: readonly string[], input: readonly KnownColumn[] | undefined): KnownColumn[] {
  const types = new Map(input?.map((c) => [c.name, c.type]));
  return names.map((name) => withType(name, types.get(name)));
}

/** `input` with some columns renamed (old → new), positions kept. */
export function renamed(
  input: readonly KnownColumn[] | undefined,
  renames: Readonly<Record<string, string>>,
): KnownColumn[] | undefined {
  return input?.map((c) => withType(renames[c.name] ?? c.name, c.type));
}

/** `input` with the declared types applied; undefined when the columns themselves are unknown. */
export function retyped(
  input: readonly KnownColumn[] | undefined,
  types: Readonly<Record<string, string>>,
): KnownColumn[] | undefined {
  return input?.map((c) => withType(c.name, types[c.name] ?? c.type));
}

export function withType(name: string, type: string | undefined): KnownColumn {
  return type === undefined ? { name } : { name, type };
}
