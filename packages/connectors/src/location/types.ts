/**
 * Where a file's bytes live, apart from how they become rows: every file format reads and writes
 * through a Location, so a CSV, NDJSON, JSON, Parquet or Excel file works the same on a local
 * disk, in an S3 bucket, on an SFTP server or behind an HTTP(S) URL.
 */

/** One file a location holds. */
export interface LocationEntry {
  /** Its full address as a user writes it in `path`: an absolute local path or a URL. */
  readonly url: string;
  readonly size: number;
  /** Last modification, when the store reports one. */
  readonly modified?: Date | undefined;
  /** A tag that changes when the content does (an S3 or HTTP ETag), when the store has one. */
  readonly etag?: string | undefined;
}

export interface ReadRange {
  /** First byte to read. @defaultValue 0 */
  readonly start?: number;
  /** One past the last byte to read. @defaultValue the end of the file */
  readonly end?: number;
  readonly signal: AbortSignal;
  /** Preferred chunk size; a store may yield other sizes. */
  readonly chunkSize?: number;
}

export interface Location {
  /** The kind of store, for messages: `file`, `s3`, `sftp`, `https`. */
  readonly scheme: string;
  /** Whether `put` and `delete` work (HTTP is read-only). */
  readonly writable: boolean;
  /** The file at `url`; a missing one throws NOT_FOUND naming it. */
  stat(url: string, signal: AbortSignal): Promise<LocationEntry>;
  /**
   * Every file below `prefix` (a directory, or an object-key prefix), at any depth, in no
   * particular order; a prefix that matches nothing yields nothing.
   */
  list(prefix: string, signal: AbortSignal): AsyncIterable<LocationEntry>;
  /** The bytes of `url` in [start, end). */
  read(url: string, range: ReadRange): AsyncIterable<Buffer>;
  /**
   * Publishes the complete local file `from` at `url` atomically: a reader sees the old file or
   * the new one, never a part (S3: one PUT or a completed multipart upload, aborted on failure;
   * SFTP: a temporary name renamed over the target).
   */
  put(url: string, from: string, signal: AbortSignal): Promise<void>;
  delete(url: string, signal: AbortSignal): Promise<void>;
  /** Closes connections; the location is not used after. */
  close(): Promise<void>;
}
