// What the sql transform needs of DuckDB, imported only when a sql stage opens: loading DuckDB's
// native module costs ~0.75 s, which every `sluice run` would pay at start otherwise.
export { resultBatches } from './results.ts';
export { defaultMemoryLimit, lockDown, openSession, queryError } from './session.ts';
