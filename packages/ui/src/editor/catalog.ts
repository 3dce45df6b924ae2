import { useQuery } from '@tanstack/react-query';
import { ApiError, get } from '../api/client.ts';
import type { Connector, JsonSchema, Page } from '../api/types.ts';

// What the editor reads besides the pipeline: the connector catalog, each connector's config
// schema (fetched when a component names it), and the credential names for the pickers.

export const connectorsQuery = {
  queryKey: ['connectors'],
  queryFn: () => get<{ items: Connector[] }>('/connectors').then((r) => r.items),
  staleTime: 5 * 60_000,
};

export function useConnectors() {
  return useQuery(connectorsQuery);
}

/** `kind` matters: a name may be both a source and a sink (csv), with different configs. */
export const schemaQuery = (kind: Connector['kind'], name: string) => ({
  queryKey: ['connector-schema', kind, name],
  enabled: name !== '',
  queryFn: () => get<JsonSchema>(`/connectors/${encodeURIComponent(name)}/schema?kind=${kind}`),
  staleTime: 5 * 60_000,
  retry: false,
});

export function useConnectorSchema(kind: Connector['kind'], name: string) {
  return useQuery(schemaQuery(kind, name));
}

export interface CredentialName {
  name: string;
  connectorType: string;
}

/** Credential names, or [] for a role that may not list them (viewers get 403: not an error here). */
export function useCredentialNames() {
  return useQuery({
    queryKey: ['credential-names'],
    queryFn: async () => {
      try {
        return (await get<Page<CredentialName>>('/credentials?limit=500')).items;
      } catch (err) {
        if (err instanceof ApiError && err.status === 403) return [];
        throw err;
      }
    },
    staleTime: 60_000,
  });
}
