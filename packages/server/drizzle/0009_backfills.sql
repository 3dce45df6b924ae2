CREATE TABLE "backfills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"pipeline_version" integer NOT NULL,
	"schedule_id" uuid,
	"every" text NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"range_from" text NOT NULL,
	"range_to" text NOT NULL,
	"concurrency" integer NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"intervals" jsonb NOT NULL,
	"interval_params" jsonb NOT NULL,
	"cursor" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"error" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "backfill_id" uuid;--> statement-breakpoint
ALTER TABLE "backfills" ADD CONSTRAINT "backfills_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backfills_pipeline" ON "backfills" USING btree ("pipeline_id","created_at");--> statement-breakpoint
CREATE INDEX "backfills_status" ON "backfills" USING btree ("status");--> statement-breakpoint
CREATE INDEX "job_executions_backfill" ON "job_executions" USING btree ("backfill_id");