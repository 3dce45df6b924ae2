ALTER TABLE "step_executions" ADD COLUMN "streaming" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "step_executions" ADD COLUMN "lag" bigint;--> statement-breakpoint
ALTER TABLE "step_executions" ADD COLUMN "checkpointed_at" timestamp with time zone;