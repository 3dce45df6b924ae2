import type { ComponentContext, Json, Row } from '@sluice/core';
import type { Received } from './client.ts';
import type { Incremental, Pagination } from './config.ts';
import type { PageRequest, Pager } from './pages.ts';
import {
  csvRecords,
  formatOf,
  jsonRecords,
  ndjsonRecords,
  type PageFormat,
  parseJsonPage,
  valueAt,
} from './records.ts';

/** What the http source's pager reads of its config. */
export interface HttpPagerConfig {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  query?: Record<string, string | number | boolean> | undefined;
  body?: unknown;
  records?: string | undefined;
  format: 'auto' | PageFormat;
  pagination?: Pagination | undefined;
  incremental?: Incremental | undefined;
}

/** The query parameter each style sets when `param` is not given. */
const PARAM = { page: 'page', offset: 'offset', cursor: 'cursor' } as const;

/** The http source's pages: one request, or one per page in the configured pagination style. */
export function httpPager(cfg: HttpPagerConfig, ctx: ComponentContext<unknown>): Pager {
  const p = cfg.pagination;
  const body = cfg.body === undefined ? undefined : JSON.stringify(cfg.body);
  const request = (url: URL, n: number): PageRequest => ({
    method: cfg.method,
    url: url.toString(),
    ...(body === undefined ? {} : { body }),
    n,
  });
  return {
    first(since: Json | undefined) {
      const url = new URL(cfg.url);
      for (const [k, v] of Object.entries(cfg.query ?? {})) url.searchParams.set(k, String(v));
      if (cfg.incremental !== undefined && since !== undefined && since !== null)
        url.searchParams.set(cfg.incremental.param, String(since));
      if (p?.type === 'page') {
        url.searchParams.set(p.param ?? PARAM.page, String(p.start ?? 1));
        if (p.size !== undefined && p.sizeParam !== undefined)
          url.searchParams.set(p.sizeParam, String(p.size));
      } else if (p?.type === 'offset') {
        url.searchParams.set(p.param ?? PARAM.offset, '0');
        if (p.size !== undefined) url.searchParams.set(p.limitParam ?? 'limit', String(p.size));
      }
      return request(url, 1);
    },

    read(req, got, label) {
      const format = formatOf(cfg.format, got.headers.get('content-type'));
      let doc: unknown;
      let rows: Row[];
      if (format === 'json') {
        doc = parseJsonPage(got.body, label);
        rows = jsonRecords(doc, cfg.records, label, ctx);
      } else rows = format === 'ndjson' ? ndjsonRecords(got.body, ctx) : csvRecords(got.body, label, ctx);
      if (p === undefined || rows.length === 0 || (p.maxPages !== undefined && req.n >= p.maxPages))
        return { rows, next: undefined };
      const url = nextUrl(p, req, got, doc, rows.length);
      return { rows, next: url === undefined ? undefined : request(url, req.n + 1) };
    },
  };
}

/** The URL of the page after `req`, or undefined when the response says there is none. */
function nextUrl(
  p: Pagination,
  req: PageRequest,
  got: Received,
  doc: unknown,
  count: number,
): URL | undefined {
  const url = new URL(req.url);
  switch (p.type) {
    case 'page': {
      const param = p.param ?? PARAM.page;
      url.searchParams.set(param, String(Number(url.searchParams.get(param) ?? p.start ?? 1) + 1));
      return url;
    }
    case 'offset': {
      const param = p.param ?? PARAM.offset;
      url.searchParams.set(param, String(Number(url.searchParams.get(param) ?? 0) + count));
      return url;
    }
    case 'cursor': {
      const cursor = valueAt(doc, p.path ?? '');
      if (cursor === undefined || cursor === null || cursor === '' || typeof cursor === 'object')
        return undefined;
      url.searchParams.set(p.param ?? PARAM.cursor, String(cursor));
      return url;
    }
    case 'link': {
      const next = linkNext(got.headers.get('link'));
      return next === undefined ? undefined : new URL(next, got.url);
    }
    case 'next_url': {
      const next = valueAt(doc, p.path ?? '');
      return typeof next === 'string' && next !== '' ? new URL(next, got.url) : undefined;
    }
  }
}

/** The target of the `rel="next"` link in a Link header (RFC 8288), if any. */
export function linkNext(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";,]+)"?/i.exec(m[2] ?? '')?.[1];
    if (rel?.toLowerCase().split(/\s+/).includes('next')) return m[1];
  }
  return undefined;
}
