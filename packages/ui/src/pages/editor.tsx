import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { can } from '../access.ts';
import { currentSession, get } from '../api/client.ts';
import type { Pipeline } from '../api/types.ts';
import { ErrorNote, Loading } from '../components/feedback.tsx';
import { PipelineEditor } from '../editor/pipeline-editor.tsx';
import { emptySpec } from '../editor/spec-model.ts';

// /pipelines/new and /pipelines/:id/edit. Loaded on demand (app.tsx): React Flow, the YAML library
// and the editor's forms stay out of the first page's bundle.

export default function EditorPage() {
  const { id } = useParams();
  const readOnly = !can(currentSession()?.user.role, 'pipelines:write');
  const pipeline = useQuery({
    queryKey: ['pipeline', id],
    enabled: id !== undefined,
    queryFn: () => get<Pipeline>(`/pipelines/${id}`),
    // The editor takes a copy once: a refetch must not replace what is being edited.
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnWindowFocus: false,
  });
  if (!id) return <PipelineEditor key="new" initial={emptySpec()} readOnly={readOnly} />;
  if (pipeline.error) return <ErrorNote error={pipeline.error} />;
  if (!pipeline.data) return <Loading what="Loading the pipeline" />;
  const p = pipeline.data;
  // The row's description is the one the list shows; the spec's own may be older or missing.
  const initial = { ...p.spec, ...(p.description ? { description: p.description } : {}) };
  return <PipelineEditor key={`${id}@${p.version}`} id={id} initial={initial} readOnly={readOnly} />;
}
