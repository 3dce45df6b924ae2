import {
  applyNodeChanges,
  Background,
  type Connection,
  Controls,
  type Edge,
  type EdgeChange,
  MarkerType,
  type Node,
  type NodeChange,
  Position,
  ReactFlow,
  useReactFlow,
  useStore,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'react';
import type { PipelineSpec } from '../api/types.ts';
import { layout } from '../components/dag.tsx';
import { connectorOf, stepKind } from './spec-model.ts';

// The steps as nodes and their `needs` as edges. Drawing from A's right handle to B's left handle
// makes B need A; selecting an edge and pressing Delete (or Backspace) removes it. Nodes are keyed
// by index, not step id, so renaming a step or two steps briefly sharing an id does not confuse
// React Flow. The needs checkboxes in each step's panel do the same for keyboard users.

export interface CanvasProps {
  spec: PipelineSpec;
  selected: number | null;
  /** Step indexes with problems, drawn in red. */
  flagged: Set<number>;
  readOnly: boolean;
  /** A step clicked (its index), or the background (null: the pipeline's own settings). */
  onSelect: (i: number | null) => void;
  onConnect: (from: string, to: string) => void;
  onDisconnect: (from: string, to: string) => void;
}

const nodeId = (i: number) => `n${i}`;
const indexOf = (id: string) => Number(id.slice(1));

function labelOf(spec: PipelineSpec, i: number): string {
  const s = spec.steps![i]!;
  if (stepKind(s) === 'task') return `${s.id || '(no id)'}\ntask: ${s.task || '?'}`;
  const flow = s.flow ?? [];
  return `${s.id || '(no id)'}\n${flow.map((c) => connectorOf(c) || '?').join(' → ')}`;
}

// A few steps are drawn a little larger than life; a long pipeline shrinks to fit, but stays legible.
const FIT = { maxZoom: 1.2, minZoom: 0.5, padding: 0.15 };

/**
 * Fits the drawing again when steps come or go (fitView alone fits only the first drawing) and
 * when the canvas changes size: crossing the narrow layout's width, or a resized window.
 */
function Refit({ count }: { count: number }) {
  const flow = useReactFlow();
  const size = useStore((s) => `${s.width}x${s.height}`);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `count` and `size` are triggers, not inputs
  useEffect(() => {
    // After React Flow has measured the new nodes.
    const t = setTimeout(() => void flow.fitView(FIT), 50);
    return () => clearTimeout(t);
  }, [count, size, flow]);
  return null;
}

export function Canvas({
  spec,
  selected,
  flagged,
  readOnly,
  onSelect,
  onConnect,
  onDisconnect,
}: CanvasProps) {
  const steps = spec.steps ?? [];
  const [nodes, setNodes] = useState<Node[]>([]);
  const [chosenEdges, setChosenEdges] = useState<Set<string>>(new Set());
  // Nodes the user placed keep their place; the others follow the layout as needs change.
  const [placed, setPlaced] = useState<Set<string>>(new Set());

  // Rebuild the nodes from the spec, keeping where the user dragged them and what React Flow measured.
  const shape = JSON.stringify(steps.map((s, i) => [s.id, s.needs ?? [], labelOf(spec, i)]));
  // biome-ignore lint/correctness/useExhaustiveDependencies: `shape` stands for the parts of `spec` drawn here
  useEffect(() => {
    const pos = layout(
      steps.map((s, i) => ({
        id: nodeId(i),
        needs: (s.needs ?? []).map((n) => nodeId(steps.findIndex((x) => x.id === n))),
      })),
    );
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return steps.map((_, i) => {
        const id = nodeId(i);
        const was = old.get(id);
        return {
          ...(was ?? {}),
          id,
          position: placed.has(id) && was ? was.position : pos.get(id)!,
          data: { label: labelOf(spec, i) },
          sourcePosition: Position.Right,
          targetPosition: Position.Left,
          deletable: false,
          ariaLabel: `step ${steps[i]!.id}`,
        };
      });
    });
  }, [shape]);

  const styled = useMemo(
    () =>
      nodes.map((n) => {
        const i = indexOf(n.id);
        return {
          ...n,
          selected: i === selected,
          style: {
            background: flagged.has(i) ? '#fee2e2' : '#fff',
            border: `${i === selected ? 2 : 1}px solid ${flagged.has(i) ? '#c0262d' : i === selected ? '#2454d6' : '#94a3b8'}`,
            borderRadius: 8,
            width: 200,
            padding: '10px 12px',
            fontSize: 13,
            whiteSpace: 'pre-line' as const,
          },
        };
      }),
    [nodes, selected, flagged],
  );

  const edges: Edge[] = steps.flatMap((s, i) =>
    (s.needs ?? []).flatMap((n) => {
      const from = steps.findIndex((x) => x.id === n);
      if (from === -1) return [];
      const id = `${nodeId(from)}->${nodeId(i)}`;
      return [
        {
          id,
          source: nodeId(from),
          target: nodeId(i),
          markerEnd: { type: MarkerType.ArrowClosed },
          selected: chosenEdges.has(id),
          deletable: !readOnly,
          ariaLabel: `${s.id} needs ${n}`,
        },
      ];
    }),
  );

  const onNodesChange = (changes: NodeChange[]) => {
    setNodes((ns) =>
      applyNodeChanges(
        changes.filter((c) => c.type !== 'remove'),
        ns,
      ),
    );
    const moved = changes.flatMap((c) => (c.type === 'position' && c.dragging ? [c.id] : []));
    if (moved.length) setPlaced((p) => new Set([...p, ...moved]));
    for (const c of changes) if (c.type === 'select' && c.selected) onSelect(indexOf(c.id));
  };
  const onEdgesChange = (changes: EdgeChange[]) => {
    const next = new Set(chosenEdges);
    for (const c of changes) {
      if (c.type === 'select') {
        if (c.selected) next.add(c.id);
        else next.delete(c.id);
      }
      if (c.type === 'remove' && !readOnly) {
        const e = edges.find((x) => x.id === c.id);
        if (e) onDisconnect(steps[indexOf(e.source)]!.id, steps[indexOf(e.target)]!.id);
        next.delete(c.id);
      }
    }
    setChosenEdges(next);
  };
  const connect = (c: Connection) => {
    if (!c.source || !c.target || c.source === c.target) return;
    onConnect(steps[indexOf(c.source)]!.id, steps[indexOf(c.target)]!.id);
  };

  return (
    <div className="dag editor-canvas">
      <ReactFlow
        nodes={styled}
        edges={edges}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={connect}
        onPaneClick={() => onSelect(null)}
        nodesConnectable={!readOnly}
        deleteKeyCode={readOnly ? null : ['Delete', 'Backspace']}
        fitView
        fitViewOptions={FIT}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
        <Refit count={steps.length} />
      </ReactFlow>
    </div>
  );
}
