import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import type { PipelineSpec } from '../api/types.ts';
import { YamlCode } from '../components/yaml-code.tsx';
import { specToYaml } from '../editor/yaml-text.ts';

type Copied = 'idle' | 'copied' | 'failed';

/** The current version's spec as read-only YAML, to read, copy, or (for editors) open in the editor. */
export function SpecPanel({
  spec,
  version,
  editHref,
}: {
  spec: PipelineSpec;
  version: number;
  editHref: string | null;
}) {
  // In the documented key order, as the editor's YAML view shows it (jsonb sorts keys by length).
  const text = specToYaml(spec);
  const [copied, setCopied] = useState<Copied>('idle');
  useEffect(() => {
    if (copied === 'idle') return;
    const t = setTimeout(() => setCopied('idle'), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = () =>
    // The clipboard is refused outside a secure context (plain http on a LAN address): say so.
    navigator.clipboard?.writeText(text).then(
      () => setCopied('copied'),
      () => setCopied('failed'),
    ) ?? setCopied('failed');
  return (
    <section className="panel" aria-labelledby="spec-heading">
      <div className="spread">
        <h2 id="spec-heading">
          Spec <small className="muted">v{version}</small>
        </h2>
        <div className="row">
          <span role="status" className="muted">
            {copied === 'copied'
              ? 'Copied.'
              : copied === 'failed'
                ? 'The browser refused the clipboard.'
                : ''}
          </span>
          <button type="button" className="secondary" onClick={copy}>
            Copy
          </button>
          {editHref && (
            <Link className="button secondary" to={editHref}>
              Edit spec
            </Link>
          )}
        </div>
      </div>
      <YamlCode readOnly label={`spec of ${spec.name}, version ${version}`} value={text} />
    </section>
  );
}
