import {
  ErrorCode,
  FatalError,
  type Json,
  type Row,
  SluiceError,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import { shown } from '../location/http-request.ts';
import type { HttpClient, Received } from './client.ts';
import type { Incremental } from './config.ts';
import { valueAt } from './records.ts';

/**
 * One request of a paged read, as data: what a checkpoint saves, so a resumed run sends exactly
 * the request after the last page committed. Credentials are never part of it (they are added
 * as each request leaves), so a checkpoint holds no secret a stored credential holds.
 */
export interface PageRequest {
  method: string;
  url: string;
  body?: string;
  /** The page's number in the run, from 1: for maxPages and messages. */
  n: number;
}

/**
 * How a source pages through an API (http's pagination styles, GraphQL's pageInfo). The paged
 * read calls `first` once (not on a resume), then `read` for every page answered.
 */
export interface Pager {
  /** The first request; `since` is the incremental value of the last successful run, if any. */
  first(since: Json | undefined): PageRequest;
  /** The page's records and the request for the next page, or undefined on the last one. */
  read(req: PageRequest, got: Received, label: string): { rows: Row[]; next: PageRequest | undefined };
}

/** Saved with every checkpoint: the page to send next, how many of its rows were already handed on, the incremental high-water mark. */
interface PagePosition {
  next: PageRequest | null;
  skip: number;
  high?: Json;
}

interface Options {
  batchSize: number;
  incremental?: Incremental | undefined;
}

const STATE_KEY = 'incremental';

/**
 * The paged read shared by the http and graphql sources: page after page, each split in batches
 * of at most `batchSize`, each batch's position the request to resume with. A position after a
 * page's last row names the next page, so every page end is a checkpoint a killed run resumes
 * from without asking for that page again.
 */
export async function* readPages(
  ctx: SourceContext<unknown>,
  client: HttpClient,
  pager: Pager,
  o: Options,
): AsyncGenerator<SourceBatch> {
  const inc = o.incremental;
  const saved = ctx.state.get(STATE_KEY) as { field?: string; value?: Json } | undefined;
  const since = inc !== undefined && saved?.field === inc.field ? saved.value : undefined;
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, ctx.componentId);
  let req: PageRequest | null = resume ? resume.next : pager.first(since);
  let skip = resume?.skip ?? 0;
  let high: Json | undefined = resume ? resume.high : since;
  let done = 0;
  while (req !== null) {
    ctx.signal.throwIfAborted();
    // Request failures name the URL themselves; a page that does not parse needs it named here.
    const label = `page ${req.n} (${shown(req.url)})`;
    ctx.log.debug(`${ctx.componentId}: ${label}`);
    const got = await client.send(req, `page ${req.n}`);
    ctx.setOrigin(shown(req.url));
    const read = pager.read(req, got, `${ctx.componentId}: ${label}`);
    const { rows } = read;
    const next = read.next && { ...read.next, url: client.withoutAuth(read.next.url) };
    if (next !== undefined && next.url === req.url && next.body === req.body) {
      throw new SluiceError(
        ErrorCode.INTEGRITY,
        `${ctx.componentId}: ${label}: the response points at this same page as the next one; ` +
          'stopping rather than reading it forever (check pagination.path)',
      );
    }
    for (let from = Math.min(skip, rows.length); from < rows.length || from === 0; from += o.batchSize) {
      const batch = rows.slice(from, from + o.batchSize);
      if (inc !== undefined) high = highest(batch, inc.field, high);
      const last = from + o.batchSize >= rows.length;
      const position: PagePosition = last
        ? { next: next ?? null, skip: 0 }
        : { next: req, skip: from + batch.length };
      if (high !== undefined) {
        position.high = high;
        if (inc !== undefined) ctx.state.set(STATE_KEY, { field: inc.field, value: high });
      }
      done += batch.length;
      yield { rows: batch, position: position as unknown as Json, progress: { done } };
      if (last) break;
    }
    req = next ?? null;
    skip = 0;
  }
}

/** The greater of `high` and every row's `field`: numbers as numbers, anything else as text. */
function highest(rows: Row[], field: string, high: Json | undefined): Json | undefined {
  let out = high;
  for (const row of rows) {
    const v = (field.includes('.') ? valueAt(row, field) : row[field]) as Json | undefined;
    if (v === undefined || v === null || typeof v === 'object') continue;
    if (out === undefined || out === null || greater(v, out)) out = v;
  }
  return out;
}

function greater(a: Json, b: Json): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a > b : String(a) > String(b);
}

function toPosition(value: Json, where: string): PagePosition {
  const p = value as Partial<PagePosition> | null;
  const req = p?.next;
  const okReq =
    req === null ||
    (typeof req === 'object' &&
      req !== undefined &&
      typeof req.url === 'string' &&
      typeof req.method === 'string' &&
      typeof req.n === 'number');
  if (p === null || typeof p !== 'object' || !okReq || typeof p.skip !== 'number' || p.skip < 0)
    throw new FatalError(
      `${where}: the checkpoint to resume from is not one of this source's (${JSON.stringify(value)})`,
      {
        code: ErrorCode.CHECKPOINT,
      },
    );
  return p as PagePosition;
}
