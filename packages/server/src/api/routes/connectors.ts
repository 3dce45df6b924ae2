import { Type } from '@sinclair/typebox';
import { type ConnectorDefinition, type ConnectorKind, ErrorCode, SluiceError } from '@sluice/core';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { NAME_MAX, Text } from '../fields.ts';
import { ErrorBody } from '../pagination.ts';

const Kind = Type.Union([
  Type.Literal('source'),
  Type.Literal('transform'),
  Type.Literal('sink'),
  Type.Literal('task'),
]);
const Summary = Type.Object({
  name: Type.String(),
  version: Type.String(),
  kind: Kind,
  summary: Type.String(),
  credentialSchema: Type.Optional(
    Type.Unknown({
      description:
        'JSON Schema of the fields a stored credential for it may hold (secret ones `writeOnly`); absent when it takes none.',
    }),
  ),
  connectionCheck: Type.Optional(
    Type.Unknown({
      description:
        'JSON Schema of the config its connection check needs (POST /credentials/{id}/test merges the ' +
        "credential's fields with the request's `config`); absent when it has no check.",
    }),
  ),
});
const Detail = Type.Composite([Summary, Type.Object({ schema: Type.Unknown(), example: Type.Unknown() })]);
const NameParams = Type.Object({ name: Text(NAME_MAX, { minLength: 1 }) });

const summary = (d: ConnectorDefinition) => ({
  name: d.name,
  version: d.version,
  kind: d.kind,
  summary: d.summary,
  ...(d.credentialSchema ? { credentialSchema: d.credentialSchema } : {}),
  ...('connection' in d && d.connection ? { connectionCheck: d.connection.config } : {}),
});

export const connectorRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    const all = () => p.registry.list();
    // Names are unique per kind, not overall (a csv source and a csv sink): the first wins, and
    // `kind` picks the other.
    const find = (name: string, kind?: string) => {
      const d = p.registry.find(name).find((c) => kind === undefined || c.kind === kind);
      if (d) return d;
      const near = p.registry.suggest(name, kind as ConnectorKind | undefined);
      throw new SluiceError(
        ErrorCode.NOT_FOUND,
        `connector "${name}"${kind ? ` (${kind})` : ''} does not exist${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
      );
    };
    const Query = Type.Object({ kind: Type.Optional(Kind) });
    app.get(
      '/connectors',
      {
        config: { access: 'connectors:read' },
        schema: {
          summary: 'List connectors',
          tags: ['connectors'],
          querystring: Query,
          response: { 200: Type.Object({ items: Type.Array(Summary) }) },
        },
      },
      async (req) => ({
        items: all()
          .filter(
            (c) => !(req.query as { kind?: string }).kind || c.kind === (req.query as { kind?: string }).kind,
          )
          .map(summary),
      }),
    );
    app.get(
      '/connectors/:name',
      {
        config: { access: 'connectors:read' },
        schema: {
          summary: 'A connector with its config schema and an example',
          tags: ['connectors'],
          params: NameParams,
          querystring: Query,
          response: { 200: Detail, 404: ErrorBody },
        },
      },
      async (req) => {
        const { name } = req.params as { name: string };
        const d = find(name, (req.query as { kind?: string }).kind);
        return { ...summary(d), schema: d.config, example: d.example ?? null };
      },
    );
    app.get(
      '/connectors/:name/schema',
      {
        config: { access: 'connectors:read' },
        schema: {
          summary: "JSON Schema of a connector's config",
          tags: ['connectors'],
          params: NameParams,
          querystring: Query,
          response: { 200: Type.Unknown(), 404: ErrorBody },
        },
      },
      async (req) =>
        find((req.params as { name: string }).name, (req.query as { kind?: string }).kind).config,
    );
  };
