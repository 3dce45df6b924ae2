import type {
  ErrorReport,
  Json,
  NetPolicy,
  PathPolicy,
  ResolvedPlan,
  RunEvent,
  SavedCircuit,
  StepReport,
  StepState,
} from '@sluice/core';
import type { PathAlias } from './step-redact.ts';

/** What the worker sends a step's process: a `run`, perhaps a `cancel`; the next `run` only after its result. */
export interface RunMessage {
  type: 'run';
  /** Numbers the runs of one process: a message about another run than the current is stale. */
  runId: number;
  /**
   * The job's plan, made once when the job was (core's ResolvedPlan): parameters and `${env.…}`
   * filled in, no secrets. The process binds the step it runs to its registry and `secrets`.
   */
  plan: ResolvedPlan;
  stepId: string;
  /** Names the run at destinations that keep checkpoints: the job id. */
  jobId: string;
  /** The step process's working directory, under the job's workspace. */
  workDir: string;
  /** Relative paths in the spec resolve here. @defaultValue workDir */
  baseDir?: string;
  stateDir: string;
  /**
   * The job's dataset area (its workspace's `datasets/`), shared by its steps: where flows write
   * and read the datasets they hand each other. @defaultValue `<stateDir>/datasets`
   */
  datasetsDir?: string;
  /** Where the step may open local paths (the platform's roots); anywhere when absent. */
  paths?: PathPolicy;
  /** Where the step may connect beyond the built-in refusals (--deny-hosts, --allow-hosts). */
  network?: NetPolicy;
  resume: boolean;
  /**
   * Replay the quarantine of the run in `stateDir` (a finished job's) instead of running the step:
   * see core's replayQuarantine. `jobId` is then that job's, whose checkpoint keys the replay's extend.
   */
  replay?: boolean;
  /**
   * What the pipeline kept for this step from its last successful job (an incremental cursor): a
   * flow starting afresh begins there; a resumed one takes its checkpoint's.
   */
  state?: StepState;
  maxQuarantine?: number;
  /** Extra ES modules whose exported connector definitions are registered (plugins, fixtures). */
  modules?: string[];
  /** The step process's environment (never inherited from the worker): what its commands see. */
  env?: Record<string, string>;
  /** The server's directories, shown by these names in everything the step sends back. */
  aliases?: PathAlias[];
  /**
   * The step's credentials. They travel over IPC only (never in the environment or on a command
   * line), stay in the step process's memory, and every value is masked in what the process
   * sends back (events, report, errors) and in the stderr lines a failed report quotes.
   */
  secrets?: Record<string, unknown>;
  /**
   * Reports of the job's steps finished so far, with the files they handed on at their paths on
   * this worker: what `${steps.<id>.…}` in the step's config reads.
   */
  upstream?: Record<string, StepReport>;
  /** What `${run.id}` and `${run.url}` say: the job and its page. */
  run?: { id: string; url?: string; startedAt?: number };
  /** The worker's circuit breakers by endpoint: the step starts from them (see circuit-book.ts). */
  circuits?: Record<string, SavedCircuit>;
  /**
   * A partitioned step: `plan` cuts its input into at most that many parts (sent back as the
   * result's `parts`; no row moves); `part` runs the one part, with checkpoints of its own.
   */
  partition?: PartitionOrder;
  /**
   * Keep a copy of the flow's checkpoints with the worker (each sent as a `checkpoint` message and
   * acknowledged once stored), starting from this one: a partition resumes on any worker.
   */
  mirror?: { file?: Json; quarantine?: string };
}

export type PartitionOrder = { plan: number } | { index: number; part: Json };

export type ParentMessage =
  | RunMessage
  | { type: 'cancel'; runId: number }
  /** A `checkpoint` is stored (or could not be: `error`). */
  | { type: 'checkpoint-saved'; runId: number; seq: number; error?: string };

export type ChildMessage =
  | { type: 'event'; runId: number; event: RunEvent }
  /** A checkpoint to keep (see RunMessage.mirror); the step waits for `checkpoint-saved`. */
  | { type: 'checkpoint'; runId: number; seq: number; file: Json; quarantine: { from: number; text: string } }
  /** The step's circuit breakers as it leaves them, sent just before its result or error. */
  | { type: 'circuits'; runId: number; circuits: Record<string, SavedCircuit> }
  | {
      type: 'result';
      runId: number;
      report: StepReport;
      /** The step's state after it succeeded, for the worker to save; absent otherwise. */
      state?: StepState;
      /** The parts a partition `plan` cut the input into. */
      parts?: Json[];
      spawned: boolean;
      rssBytes: number;
    }
  | { type: 'error'; runId: number; error: ErrorReport; spawned: boolean; rssBytes: number };
