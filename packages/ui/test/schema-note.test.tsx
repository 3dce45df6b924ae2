import { render, screen } from '@testing-library/react';
import { expect, it } from 'vitest';
import { SchemaNote } from '../src/job/schema-note.tsx';

it("lists the schema changes of a step's sinks, and nothing when there are none", () => {
  const report = {
    components: [
      { id: 'load.0:csv' },
      {
        id: 'load.1:postgres',
        schemaChanges: [
          { change: 'column_added', column: 'extra', type: 'bigint' },
          { change: 'type_widened', column: 'id', from: 'integer', type: 'numeric' },
          { change: 'rows_discarded', column: 'note', count: 1200 },
          { change: 'values_dropped', column: 'name', count: 1 },
        ],
      },
    ],
  };
  const { unmount } = render(<SchemaNote report={report} />);
  const items = screen.getByRole('list', { name: 'schema changes' }).querySelectorAll('li');
  expect(Array.from(items, (li) => li.textContent)).toEqual([
    'load.1:postgres: added column "extra" (bigint)',
    'load.1:postgres: widened column "id" from integer to numeric',
    'load.1:postgres: discarded 1,200 rows for field "note"',
    'load.1:postgres: dropped 1 values of field "name"',
  ]);
  unmount();
  const { container } = render(<SchemaNote report={{ components: [{ id: 'x.0:csv' }] }} />);
  expect(container.innerHTML).toBe('');
});
