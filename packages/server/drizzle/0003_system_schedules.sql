CREATE TABLE "run_rollups" (
	"hour" timestamp with time zone NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"jobs" integer NOT NULL,
	"success" integer NOT NULL,
	"failed" integer NOT NULL,
	"duration_ms_sum" bigint NOT NULL,
	"rows_read" bigint NOT NULL,
	"rows_quarantined" bigint NOT NULL,
	CONSTRAINT "run_rollups_hour_pipeline_id_pk" PRIMARY KEY("hour","pipeline_id")
);
--> statement-breakpoint
ALTER TABLE "schedules" ALTER COLUMN "pipeline_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "schedules" ADD COLUMN "task" text;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_task_unique" UNIQUE("task");--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_pipeline_or_task" CHECK (("pipeline_id" IS NULL) <> ("task" IS NULL));
