import { type TSchema, Type } from '@sinclair/typebox';

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Items per page.' }),
  offset: Type.Integer({ minimum: 0, default: 0, description: 'Items to skip.' }),
});

/** api-v1.md's list shape. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
  }),
});

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
