/**
 * Date and timestamp patterns beyond ISO-8601, parsed by date-fns (`MMM d yyyy`, `d MMMM yyyy` with
 * a locale, `yyyy/MM/dd HH:mm`): month names, free layouts and two-digit years are date-fns's
 * work, not a hand-written parser's.
 *
 * date-fns is loaded on the first pattern that needs it, not on import: its index and every locale
 * took ~0.45 s to load (measured, Node 20), and ISO dates never need it.
 */
import { createRequire } from 'node:module';
import type { Locale } from 'date-fns';

const require = createRequire(import.meta.url);

type Parse = (text: string, pattern: string, reference: Date, opts: { locale?: Locale }) => Date;
type Format = (date: Date, pattern: string, opts: { locale?: Locale }) => string;

let lib: { parse: Parse; format: Format } | undefined;

function dateFns(): { parse: Parse; format: Format } {
  lib ??= {
    parse: (require('date-fns/parse') as { parse: Parse }).parse,
    format: (require('date-fns/format') as { format: Format }).format,
  };
  return lib;
}

const locales = new Map<string, Locale>();

/** `fr`, `de`, `en-US`, or date-fns's export names (`enUS`, `frCA`). */
const LOCALE_NAME = /^([a-z]{2,3})(?:-?([A-Z][A-Za-z]{1,7}))?$/;

/** The date-fns locale called `name`, or a message saying why there is none. */
export function dateLocale(name: string): Locale | string {
  const known = locales.get(name);
  if (known) return known;
  const m = LOCALE_NAME.exec(name);
  const tag = m ? (m[2] ? `${m[1]}-${m[2]}` : m[1]!) : undefined;
  let mod: Record<string, Locale> | undefined;
  // Only names of this shape reach require: nothing else can be made a path.
  if (tag !== undefined) {
    try {
      mod = require(`date-fns/locale/${tag}`) as Record<string, Locale>;
    } catch {
      mod = undefined;
    }
  }
  const locale = mod ? Object.values(mod)[0] : undefined;
  if (!locale) {
    return `unknown locale "${name}"; use a date-fns locale such as en-US, en-GB, fr, de, es, it, nl or pt-BR`;
  }
  locales.set(name, locale);
  return locale;
}

// A value every token of a pattern can show and read back: each field differs from the others,
// the day is past 12 and the hour past 12, so a pattern that swaps or drops one is caught.
const PROBE = new Date(2001, 10, 23, 16, 5, 6, 789);
// Parsing against another day shows which fields the pattern does not hold.
const ELSEWHERE = new Date(1970, 0, 1, 0, 0, 0, 0);

/**
 * Null when `pattern` is a date-fns pattern that reads back a full date (year, month, day) and,
 * for timestamps, every time field it shows; otherwise what is wrong, for the user.
 */
export function checkDatePattern(pattern: string, locale: Locale | undefined): string | null {
  const { parse, format } = dateFns();
  const opts = locale ? { locale } : {};
  let text: string;
  try {
    text = format(PROBE, pattern, opts);
  } catch (err) {
    return (err as Error).message;
  }
  let back: Date;
  try {
    back = parse(text, pattern, ELSEWHERE, opts);
  } catch (err) {
    return (err as Error).message;
  }
  if (Number.isNaN(back.getTime())) {
    return `it cannot read back what it writes ("${text}"): check its tokens in the date-fns parse documentation`;
  }
  if (
    back.getFullYear() !== PROBE.getFullYear() ||
    back.getMonth() !== PROBE.getMonth() ||
    back.getDate() !== PROBE.getDate()
  ) {
    return `it does not hold a full date (year, month and day), e.g. yyyy-MM-dd, dd/MM/yyyy or MMM d yyyy`;
  }
  return null;
}

export interface PatternParse {
  /** The instant, or null when the text does not match. */
  (text: string): Date | null;
  /** True when the pattern holds a zone offset or an epoch: its result is an instant, not local fields. */
  readonly absolute: boolean;
}

/** A parser for an already checked pattern. */
export function patternParser(pattern: string, locale: Locale | undefined): PatternParse {
  const { parse } = dateFns();
  const opts = locale ? { locale } : {};
  const bare = pattern.replace(/'[^']*'/g, '');
  const absolute = /[XxTt]/.test(bare);
  const fn = (text: string): Date | null => {
    const d = parse(text, pattern, ELSEWHERE, opts);
    if (Number.isNaN(d.getTime())) return null;
    if (absolute) return d;
    // date-fns fills a local Date; its wall-clock fields are what the text said, taken as UTC as
    // every zone-less timestamp here is. (A wall time inside a local DST gap would be shifted by
    // an hour: the machines that run flows are set to UTC, and those are never shifted.)
    const t = Date.UTC(
      d.getFullYear(),
      d.getMonth(),
      d.getDate(),
      d.getHours(),
      d.getMinutes(),
      d.getSeconds(),
      d.getMilliseconds(),
    );
    const u = new Date(t);
    // Date.UTC maps years 0-99 to 1900-1999.
    if (d.getFullYear() < 100) u.setUTCFullYear(d.getFullYear());
    return u;
  };
  return Object.assign(fn, { absolute });
}
