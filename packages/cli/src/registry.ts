import { builtinConnectors } from '@sluice/connectors';
import { Registry } from '@sluice/core';

export function createRegistry(): Registry {
  return new Registry().register(...builtinConnectors);
}
