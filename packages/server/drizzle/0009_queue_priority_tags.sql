ALTER TABLE "credentials" ADD COLUMN "concurrency" integer;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "concurrency" integer;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "runs_on" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "workers" ADD COLUMN "tags" text[] DEFAULT '{}'::text[] NOT NULL;