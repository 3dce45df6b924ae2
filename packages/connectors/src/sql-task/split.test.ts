import { describe, expect, it } from 'vitest';
import { ScriptError, splitScript } from './split.ts';

const texts = (script: string, d: Parameters<typeof splitScript>[1]) =>
  splitScript(script, d).map((s) => s.text);

describe('splitScript', () => {
  it('splits on semicolons outside strings, names and comments, with each statement’s line', () => {
    const script = [
      '-- set up',
      'INSERT INTO t VALUES (\'a;b\', "x;y");',
      '',
      '/* two; */ UPDATE t SET v = 1 -- trailing; comment',
      '  WHERE id = 2;',
      'SELECT 1',
    ].join('\n');
    expect(splitScript(script, 'sqlite')).toEqual([
      { text: 'INSERT INTO t VALUES (\'a;b\', "x;y")', line: 2, params: [] },
      { text: 'UPDATE t SET v = 1 -- trailing; comment\n  WHERE id = 2', line: 4, params: [] },
      { text: 'SELECT 1', line: 6, params: [] },
    ]);
  });

  it('binds ${params.x} as $n for PostgreSQL and ? elsewhere; $${ stays literal', () => {
    const script = 'UPDATE t SET a = ${params.a}, b = ${params.b} WHERE c = ${params.a}; SELECT $${params.a}';
    expect(splitScript(script, 'postgres')).toEqual([
      { text: 'UPDATE t SET a = $1, b = $2 WHERE c = $3', line: 1, params: ['a', 'b', 'a'] },
      { text: 'SELECT ${params.a}', line: 1, params: [] },
    ]);
    expect(texts(script, 'mysql')[0]).toBe('UPDATE t SET a = ?, b = ? WHERE c = ?');
  });

  it('refuses a placeholder inside quotes, naming its line', () => {
    const err = (() => {
      try {
        splitScript("SELECT 1;\nSELECT 'x ${params.a}'", 'postgres');
      } catch (e) {
        return e;
      }
    })() as ScriptError;
    expect(err).toBeInstanceOf(ScriptError);
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/remove the quotes/);
  });

  it('keeps PostgreSQL dollar-quoted bodies, nested comments and E-strings whole', () => {
    const script = [
      'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;',
      'DO $$ BEGIN PERFORM 1; END $$;',
      "/* outer /* inner; */ still; */ SELECT E'it\\'s; here', $1;",
    ].join('\n');
    expect(texts(script, 'postgres')).toEqual([
      'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql',
      'DO $$ BEGIN PERFORM 1; END $$',
      "SELECT E'it\\'s; here', $1",
    ]);
  });

  it('takes MySQL backslash escapes, # comments and DELIMITER', () => {
    const script = [
      "INSERT INTO t VALUES ('a\\';b'); # note; here",
      'DELIMITER //',
      'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END //',
      'DELIMITER ;',
      'CALL p();',
    ].join('\n');
    expect(splitScript(script, 'mysql').map((s) => [s.line, s.text])).toEqual([
      [1, "INSERT INTO t VALUES ('a\\';b')"],
      [3, 'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END'],
      [5, 'CALL p()'],
    ]);
  });

  it('keeps an SQLite trigger body (with CASE … END) in one statement', () => {
    const script =
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET v = CASE WHEN 1 THEN 2 END; DELETE FROM u; END;\nSELECT [a;b] FROM t;';
    expect(texts(script, 'sqlite')).toEqual([
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET v = CASE WHEN 1 THEN 2 END; DELETE FROM u; END',
      'SELECT [a;b] FROM t',
    ]);
  });

  it('finds no statement in comments and blank lines', () => {
    expect(splitScript('-- nothing\n/* here */\n;\n', 'postgres')).toEqual([]);
  });
});
