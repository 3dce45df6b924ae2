import { Background, Controls, type Edge, MarkerType, type Node, Position, ReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';

export interface DagStep {
  id: string;
  needs: string[];
  label?: string;
  status?: string;
}

const COLORS: Record<string, string> = {
  success: '#dcfce7',
  failed: '#fee2e2',
  timeout: '#fee2e2',
  running: '#dbeafe',
  queued: '#fef3c7',
  pending: '#ffffff',
  skipped: '#eef0f3',
  cancelled: '#eef0f3',
};

/** Where `layout` puts columns and rows, in flow units (the editor's canvas has wider nodes). */
export interface Spacing {
  column: number;
  row: number;
}
const EDITOR_SPACING: Spacing = { column: 240, row: 90 };
// 150 px nodes with a 40 px gap for the arrow: a read-only view, so no room kept for handles.
const VIEW_SPACING: Spacing = { column: 190, row: 72 };
const NODE_WIDTH = 150;
const LINKED_SPACING: Spacing = { column: 330, row: 72 };

/**
 * Without a zoom ceiling, fitView blows a one-step pipeline up to fill the box (a node ~4x its
 * size). Below 0.7 the 12 px labels drop under 9 px and stop being readable, so a longer chain
 * than fits keeps that zoom and the view pans instead; eight steps in a row fit a 1200 px box.
 */
const FIT = { padding: 0.08, minZoom: 0.7, maxZoom: 1 } as const;

/** Columns by depth in the DAG (a step sits right of everything it needs), rows within a column. */
export function layout(
  steps: DagStep[],
  spacing: Spacing = EDITOR_SPACING,
): Map<string, { x: number; y: number }> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0; // a cycle: the server rejects these; draw rather than loop
    seen.add(id);
    const needs = byId.get(id)?.needs.filter((n) => byId.has(n)) ?? [];
    const d = needs.length ? Math.max(...needs.map((n) => depthOf(n, seen))) + 1 : 0;
    depth.set(id, d);
    return d;
  };
  const rows = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const d = depthOf(s.id);
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    out.set(s.id, { x: d * spacing.column, y: r * spacing.row });
  }
  return out;
}

/** A labelled edge between two steps beside `needs` (a dataset one wrote and the other reads). */
export interface DagLink {
  from: string;
  to: string;
  label: string;
}

const NO_LINKS: DagLink[] = [];

export function Dag({
  steps,
  links = NO_LINKS,
  onSelect,
}: {
  steps: DagStep[];
  links?: DagLink[];
  onSelect?: (id: string) => void;
}) {
  const { nodes, edges, height } = useMemo(() => {
    // A labelled edge needs room between the columns for its label ("orders · 1,234 rows").
    const pos = layout(steps, links.length > 0 ? LINKED_SPACING : VIEW_SPACING);
    const nodes: Node[] = steps.map((s) => ({
      id: s.id,
      position: pos.get(s.id)!,
      data: { label: s.label ?? s.id },
      // Columns run left to right, so edges leave on the right and arrive on the left.
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      style: {
        background: COLORS[s.status ?? 'pending'] ?? '#fff',
        border: '1px solid #94a3b8',
        borderRadius: 6,
        width: NODE_WIDTH,
        padding: '6px 8px',
        fontSize: 12,
      },
      ariaLabel: `step ${s.id}${s.status ? `: ${s.status}` : ''}`,
    }));
    const edges: Edge[] = steps.flatMap((s) =>
      s.needs.map((n) => ({
        id: `${n}->${s.id}`,
        source: n,
        target: s.id,
        markerEnd: { type: MarkerType.ArrowClosed },
        animated: s.status === 'running',
      })),
    );
    // A link along a `needs` edge labels it; one between steps needed only transitively is drawn
    // dashed, so the DAG still shows which step's data a step reads.
    const ids = new Set(steps.map((s) => s.id));
    for (const l of links) {
      if (!ids.has(l.from) || !ids.has(l.to)) continue;
      const edge = edges.find((e) => e.source === l.from && e.target === l.to);
      const label = edge?.label ? `${edge.label}; ${l.label}` : l.label;
      if (edge) Object.assign(edge, { label, ariaLabel: `${l.from} to ${l.to}: ${label}` });
      else
        edges.push({
          id: `${l.from}=>${l.to}`,
          source: l.from,
          target: l.to,
          label: l.label,
          ariaLabel: `${l.from} to ${l.to}: ${l.label}`,
          style: { strokeDasharray: '4 3' },
          markerEnd: { type: MarkerType.ArrowClosed },
        });
    }
    // The box grows with the tallest column, so a wide fan-out is not squeezed below the zoom floor.
    const rows = Math.max(1, ...[...pos.values()].map((p) => p.y / VIEW_SPACING.row + 1));
    return { nodes, edges, height: Math.min(480, Math.max(160, rows * VIEW_SPACING.row + 96)) };
  }, [steps, links]);
  return (
    <div className="dag" style={{ height }}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        fitViewOptions={FIT}
        minZoom={0.25}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        onNodeClick={(_e, n) => onSelect?.(n.id)}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
