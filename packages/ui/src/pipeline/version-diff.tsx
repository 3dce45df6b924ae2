import { diffLines } from 'diff';
import { useState } from 'react';
import type { PipelineSpec } from '../api/types.ts';
import { when } from '../components/status.tsx';
import { specToYaml } from '../editor/yaml-text.ts';

export interface Version {
  version: number;
  spec: PipelineSpec;
  createdBy: string | null;
  createdAt: string;
}

/** Two versions' specs as YAML, line by line: what an update changed. */
export function VersionDiff({ versions }: { versions: Version[] }) {
  const [a, setA] = useState(versions[1]?.version ?? versions[0]!.version);
  const [b, setB] = useState(versions[0]!.version);
  const text = (v: number) => specToYaml(versions.find((x) => x.version === v)?.spec ?? ({} as PipelineSpec));
  const pick = (label: string, value: number, set: (v: number) => void) => (
    <label className="inline">
      {label}
      <select value={value} onChange={(e) => set(Number(e.target.value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version} — {when(v.createdAt)}
            {v.createdBy ? ` by ${v.createdBy}` : ''}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <>
      <div className="row">
        {pick('From', a, setA)}
        {pick('To', b, setB)}
      </div>
      <section className="diff panel" aria-label={`changes from v${a} to v${b}`}>
        {diffLines(text(a), text(b)).map((part, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: diff parts are positional and recomputed as a whole
          <pre key={i} className={part.added ? 'add' : part.removed ? 'del' : ''}>
            {part.value
              .replace(/\n$/, '')
              .split('\n')
              .map((l) => `${part.added ? '+' : part.removed ? '-' : ' '} ${l}`)
              .join('\n')}
          </pre>
        ))}
      </section>
    </>
  );
}
