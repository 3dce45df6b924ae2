/**
 * Splits a SQL script into statements and turns each `${params.x}` into a bind parameter, in one
 * pass that knows the dialect's quotes and comments: a `;` or a placeholder inside a string, a
 * quoted name, a comment or a PostgreSQL dollar-quoted body is text, not syntax.
 */

export type Dialect = 'postgres' | 'mysql' | 'sqlite';

export interface Statement {
  /** The statement as sent: placeholders replaced by `$1…` (postgres) or `?`, without its `;`. */
  text: string;
  /** 1-based line of the script where the statement starts. */
  line: number;
  /** The parameter bound at each placeholder, in order. */
  params: string[];
}

/** A placeholder the script may not hold where it stands (inside a string), with its line. */
export class ScriptError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const PLACEHOLDER = /^\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}/;
const ANY_PLACEHOLDER = /(?<!\$)\$\{(?:params|env)\.[A-Za-z_][A-Za-z0-9_]*\}/;
const ESCAPED = /\$\$\{(?=(?:params|env)\.)/g;
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;
const TRIGGER = /^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i;
const DELIMITER = /^DELIMITER[ \t]+(\S+)[ \t]*(?:\r?\n|$)/i;

/** Where a quoted run ends: the closing quote, past doubled quotes (and backslash escapes in MySQL strings). */
function quoteEnd(s: string, from: number, q: string, backslash: boolean): number {
  for (let i = from + 1; i < s.length; i++) {
    const c = s[i];
    if (backslash && c === '\\') i++;
    else if (c === q) {
      if (s[i + 1] === q) i++;
      else return i + 1;
    }
  }
  return s.length;
}

/** Where a block comment ends; PostgreSQL's nest. */
function blockEnd(s: string, from: number, nests: boolean): number {
  let depth = 0;
  for (let i = from; i < s.length - 1; i++) {
    if (s[i] === '/' && s[i + 1] === '*') {
      depth++;
      i++;
    } else if (s[i] === '*' && s[i + 1] === '/') {
      depth--;
      i++;
      if (depth === 0 || !nests) return i + 1;
    }
  }
  return s.length;
}

export function splitScript(script: string, dialect: Dialect): Statement[] {
  const out: Statement[] = [];
  let line = 1;
  let text = '';
  let params: string[] = [];
  let startLine = 0;
  let delimiter = ';';
  /** BEGIN/CASE … END nesting in an SQLite trigger, whose body holds `;`s. */
  let depth = 0;
  const add = (piece: string) => {
    if (startLine === 0 && piece.trim() !== '') startLine = line;
    text += piece;
  };
  const advance = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (script.charCodeAt(k) === 10) line++;
    return to;
  };
  const finish = () => {
    const t = text.trim();
    if (t !== '') out.push({ text: t, line: startLine, params });
    text = '';
    params = [];
    startLine = 0;
    depth = 0;
  };
  /** A quoted run as sent: `$${` unescaped; a placeholder in it cannot be bound, and is refused. */
  const quoted = (from: number, to: number): string => {
    const piece = script.slice(from, to);
    const m = ANY_PLACEHOLDER.exec(piece);
    if (!m) return piece.replace(ESCAPED, '${');
    const before = script.slice(from, from + m.index);
    throw new ScriptError(
      `${m[0]} stands inside a quoted string or name, where it cannot be bound as a value: remove the ` +
        `quotes around it (the value is passed as a parameter, already typed), or write $${m[0]} for the literal text`,
      line + (before.match(/\n/g)?.length ?? 0),
    );
  };
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    const empty = text.trim() === '';
    if (dialect === 'mysql' && empty && (i === 0 || script[i - 1] === '\n')) {
      const d = DELIMITER.exec(script.slice(i));
      if (d) {
        // The mysql client's command, not SQL: the delimiter of the statements after it.
        delimiter = d[1]!;
        i = advance(i, i + d[0].length);
        continue;
      }
    }
    if (script.startsWith(delimiter, i) && depth === 0) {
      i = advance(i, i + delimiter.length);
      finish();
      continue;
    }
    const lineComment = script.startsWith('--', i) || (c === '#' && dialect === 'mysql');
    if (lineComment || script.startsWith('/*', i)) {
      const nl = script.indexOf('\n', i);
      const end = lineComment ? (nl < 0 ? script.length : nl) : blockEnd(script, i, dialect === 'postgres');
      // Comments before a statement's first word are not sent with it.
      if (!empty) add(script.slice(i, end));
      i = advance(i, end);
      continue;
    }
    if (c === "'" || c === '"' || (c === '`' && dialect !== 'postgres')) {
      // PostgreSQL's E'…' strings take backslash escapes, as MySQL's strings do.
      const eString = dialect === 'postgres' && /(^|[^\w])[eE]$/.test(text);
      const end = quoteEnd(script, i, c, c !== '`' && (dialect === 'mysql' || (c === "'" && eString)));
      add(quoted(i, end));
      i = advance(i, end);
      continue;
    }
    if (c === '[' && dialect === 'sqlite') {
      const close = script.indexOf(']', i);
      const end = close < 0 ? script.length : close + 1;
      add(script.slice(i, end));
      i = advance(i, end);
      continue;
    }
    if (c === '$') {
      if (script.startsWith('$${params.', i) || script.startsWith('$${env.', i)) {
        // The escape of a literal `${`, as in the rest of a spec.
        add('${');
        i += 3;
        continue;
      }
      const p = PLACEHOLDER.exec(script.slice(i, i + 200));
      if (p) {
        params.push(p[1]!);
        add(dialect === 'postgres' ? `$${params.length}` : '?');
        i += p[0].length;
        continue;
      }
      const tag =
        dialect === 'postgres' && !/\w$/.test(text) ? DOLLAR_TAG.exec(script.slice(i, i + 200)) : null;
      if (tag) {
        const close = script.indexOf(tag[0], i + tag[0].length);
        const end = close < 0 ? script.length : close + tag[0].length;
        add(quoted(i, end));
        i = advance(i, end);
        continue;
      }
    }
    const word = /^\w+/.exec(script.slice(i, i + 64));
    if (word) {
      if (dialect === 'sqlite' && TRIGGER.test(`${text.trim()} `)) {
        const w = word[0].toUpperCase();
        if (w === 'BEGIN' || w === 'CASE') depth++;
        else if (w === 'END' && depth > 0) depth--;
      }
      add(word[0]);
      i += word[0].length;
      continue;
    }
    add(c);
    i = advance(i, i + 1);
  }
  finish();
  return out;
}
