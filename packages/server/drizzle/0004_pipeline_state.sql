CREATE TABLE "pipeline_state" (
	"pipeline_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"state" jsonb NOT NULL,
	"job_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pipeline_state_pipeline_id_step_id_pk" PRIMARY KEY("pipeline_id","step_id")
);
--> statement-breakpoint
ALTER TABLE "pipeline_state" ADD CONSTRAINT "pipeline_state_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE cascade ON UPDATE no action;