import {
  type ColumnType,
  Fit as LadderFit,
  type Limit,
  limitOf as ladderLimitOf,
  neededType as ladderNeededType,
  widest as ladderWidest,
  type TypeLadder,
} from '../shared/schema-contract.ts';

export { CONTRACTS, isContract, type SchemaContract } from '../shared/schema-contract.ts';

const VARCHAR = /^character varying\((\d+)\)$/;

/** PostgreSQL's types a value may outgrow, as format_type spells them (see TypeLadder). */
export const PG_LADDER: TypeLadder = {
  ints: [
    { type: 'smallint', max: 2 ** 15 },
    { type: 'integer', max: 2 ** 31 },
    { type: 'bigint', max: 2 ** 63 },
  ],
  numeric: 'numeric',
  varchar(type) {
    const m = VARCHAR.exec(type);
    return m ? Number(m[1]) : undefined;
  },
  text: 'text',
};

export const limitOf = (type: string): Limit | undefined => ladderLimitOf(PG_LADDER, type);
export const neededType = (limit: Limit, v: unknown): string | undefined =>
  ladderNeededType(PG_LADDER, limit, v);
export const widest = (a: string | undefined, b: string): string => ladderWidest(PG_LADDER, a, b);

/** The shared Fit on PostgreSQL's types. */
export class Fit extends LadderFit {
  constructor(table: readonly ColumnType[], written: readonly string[], only?: readonly string[]) {
    super(PG_LADDER, table, written, only);
  }
}
