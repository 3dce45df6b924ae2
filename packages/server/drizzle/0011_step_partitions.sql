CREATE TABLE "step_partitions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"job_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"index" integer NOT NULL,
	"part" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"progress" real DEFAULT 0 NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"rows_read" bigint DEFAULT 0 NOT NULL,
	"rows_written" bigint DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"report" jsonb,
	"error" jsonb,
	"worker_id" text,
	"checkpoint" jsonb,
	"quarantine" "bytea"
);
--> statement-breakpoint
ALTER TABLE "step_partitions" ADD CONSTRAINT "step_partitions_job_id_job_executions_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job_executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "step_partitions_job_step_index" ON "step_partitions" USING btree ("job_id","step_id","index");