import { describe, expect, it } from 'vitest';
import { uniqueNames } from './unique-names.ts';

describe('uniqueNames', () => {
  it('names empty ones colN and repeats name_2, never taking a name given later', () => {
    const warned: string[] = [];
    expect(uniqueNames(['a', 'a', 'a_2'], (m) => warned.push(m))).toEqual(['a', 'a_3', 'a_2']);
    expect(uniqueNames(['', 'col1'])).toEqual(['col1_2', 'col1']);
    expect(uniqueNames(['x', '', 'x', 'x'])).toEqual(['x', 'col2', 'x_2', 'x_3']);
    expect(warned).toEqual(['column 2 repeats the name "a"; it is read as "a_3"']);
  });
});
