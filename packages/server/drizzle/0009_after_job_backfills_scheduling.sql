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
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"delivery_id" uuid NOT NULL,
	"subscription_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"event" text NOT NULL,
	"attempt" integer NOT NULL,
	"ok" boolean NOT NULL,
	"http_status" integer,
	"error" text,
	"duration_ms" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pipeline_id" uuid,
	"url" text NOT NULL,
	"events" jsonb NOT NULL,
	"secret" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credentials" ADD COLUMN "concurrency" integer;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "upstream_job_id" uuid;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "backfill_id" uuid;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "concurrency" integer;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "runs_on" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "workers" ADD COLUMN "tags" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD CONSTRAINT "backfills_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_subscription_id_webhook_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."webhook_subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD CONSTRAINT "webhook_subscriptions_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backfills_pipeline" ON "backfills" USING btree ("pipeline_id","created_at");--> statement-breakpoint
CREATE INDEX "backfills_status" ON "backfills" USING btree ("status");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_subscription" ON "webhook_deliveries" USING btree ("subscription_id","at");--> statement-breakpoint
CREATE INDEX "webhook_subscriptions_pipeline" ON "webhook_subscriptions" USING btree ("pipeline_id");--> statement-breakpoint
CREATE INDEX "job_executions_backfill" ON "job_executions" USING btree ("backfill_id");--> statement-breakpoint
CREATE UNIQUE INDEX "job_executions_upstream" ON "job_executions" USING btree ("upstream_job_id","pipeline_id") WHERE "job_executions"."upstream_job_id" IS NOT NULL;