/**
 * W2 from S3: W2's CSV read from the S3-compatible server (bench/lib/s3.ts) instead of the local
 * disk, everything else alike. Sluice on the local file runs beside it, interleaved, so the
 * target's ratio (local wall ÷ S3 wall) comes from one run; the floor is one GetObject of the
 * object, decoded and dropped, which is what the server itself allows.
 */
import { join } from 'node:path';
import { removeFile } from './files.ts';
import { assertOk, measure } from './measure.ts';
import { type BenchContext, checkLines, NODE, type Runner, sample, sluiceRunner } from './runners.ts';
import { type BenchS3, S3_BUCKET } from './s3.ts';

export function s3Runners(ctx: BenchContext, s3: BenchS3, only: ReadonlySet<string>): Runner[] {
  const fromS3 = join(ctx.outDir, `w2-s3-sluice-${ctx.data.label}.ndjson`);
  const local = join(ctx.outDir, `w2-sluice-${ctx.data.label}.ndjson`);
  const all = [
    sluiceRunner(ctx, {
      id: 'sluice',
      workload: 'w2-s3',
      spec: 'w2-s3',
      label: '`sluice run w2-s3.yaml --json`: the CSV from `s3://bench/…`',
      env: s3.env,
      prepare: () => removeFile(fromS3),
      check: () => checkLines(ctx, fromS3),
    }),
    sluiceRunner(ctx, {
      id: 'sluice-local',
      workload: 'w2-s3',
      spec: 'w2',
      label: '`sluice run w2.yaml --json`: the same CSV on local disk',
      prepare: () => removeFile(local),
      check: () => checkLines(ctx, local),
    }),
    getFloor(ctx, s3),
  ];
  return all.filter((r) => only.has(r.id));
}

function getFloor(ctx: BenchContext, s3: BenchS3): Runner {
  const script = join(ctx.benchDir, 'peers', 's3-get-floor.mjs');
  let chars = 0;
  return {
    id: 'floor',
    workload: 'w2-s3',
    label: 'Node: one GetObject of the CSV, decoded as UTF-8, nothing more',
    prepare() {},
    async run() {
      const m = await measure(NODE, [script, S3_BUCKET, s3.key], { env: s3.env });
      chars = Number(assertOk('GetObject floor', m).stdout.trim());
      return sample(m);
    },
    verify() {
      if (!(chars > 0 && chars <= ctx.data.bytes))
        throw new Error(`GetObject floor decoded ${chars} characters of ${ctx.data.bytes} bytes`);
    },
  };
}
