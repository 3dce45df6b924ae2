/** Where a finished output is published: its size there (undefined when absent), and the publishing. */
export interface FinalFile {
  /** What the run report names as the output's location. */
  readonly name: string;
  /** Size of what is there now; undefined when nothing is, `dir` for a directory. */
  size(): Promise<number | 'dir' | undefined>;
  /** Makes the complete, durable `partial` the final file, atomically. */
  publish(partial: string): Promise<void>;
  /** Copies the final file's bytes to `to` (a replay appends to them). */
  fetch(to: string): Promise<void>;
}
