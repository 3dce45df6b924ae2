import type { ComponentSpec } from '../api/types.ts';
import type { Value } from '../components/schema-form.tsx';
import { ConfigForm } from './config-form.tsx';
import { ConnectorPicker } from './connector-picker.tsx';
import { CredentialField } from './credential-field.tsx';
import { IssueList } from './issue-list.tsx';
import type { ComponentIssues } from './issues.ts';
import { connectorOf, ROLES, type Role, roleOf, withConnector, withField } from './spec-model.ts';

export interface ComponentEditorProps {
  component: ComponentSpec;
  index: number;
  count: number;
  stepId: string;
  issues: ComponentIssues | undefined;
  readOnly: boolean;
  onChange: (c: ComponentSpec) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}

/** One component of a flow: its role, connector, label, credential and config form. */
export function ComponentEditor(props: ComponentEditorProps) {
  const { component: c, index, count, stepId, issues, readOnly, onChange } = props;
  const role = roleOf(c);
  const name = connectorOf(c);
  const title = `${index + 1}. ${role}${name ? ` ${name}` : ''}`;
  const own = issues?.own ?? [];
  return (
    <li className={`component${own.length + (issues?.config.length ?? 0) > 0 ? ' has-issues' : ''}`}>
      <div className="spread">
        <h4>{title}</h4>
        <div className="row">
          <button
            type="button"
            className="secondary"
            disabled={readOnly || index === 0}
            onClick={() => props.onMove(-1)}
            aria-label={`move component ${index + 1} of step ${stepId} up`}
          >
            ↑
          </button>
          <button
            type="button"
            className="secondary"
            disabled={readOnly || index === count - 1}
            onClick={() => props.onMove(1)}
            aria-label={`move component ${index + 1} of step ${stepId} down`}
          >
            ↓
          </button>
          <button
            type="button"
            className="secondary"
            disabled={readOnly}
            onClick={props.onRemove}
            aria-label={`remove component ${index + 1} of step ${stepId}`}
          >
            Remove
          </button>
        </div>
      </div>
      <IssueList items={own} />
      <div className="grid">
        <label>
          <span>Role</span>
          <select
            value={role}
            disabled={readOnly}
            onChange={(e) => onChange(withConnector(c, e.target.value as Role, ''))}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <ConnectorPicker
          kind={role}
          value={name}
          disabled={readOnly}
          onChange={(n) => onChange(withConnector(c, role, n))}
        />
        <label>
          <span>Label</span>
          <small>Optional id in reports and checkpoints.</small>
          <input
            value={c.id ?? ''}
            disabled={readOnly}
            onChange={(e) => onChange(withField(c, 'id', e.target.value))}
          />
        </label>
        <CredentialField
          connector={name}
          value={c.credential}
          disabled={readOnly}
          onChange={(credential) => onChange(withField(c, 'credential', credential))}
        />
      </div>
      <ConfigForm
        kind={role}
        name={name}
        value={(c.with ?? {}) as Value}
        errors={issues?.config ?? []}
        disabled={readOnly}
        onChange={(v) => onChange({ ...c, with: v })}
      />
    </li>
  );
}
