CREATE UNIQUE INDEX "alert_events_open" ON "alert_events" USING btree ("rule_id","pipeline_id") WHERE "alert_events"."status" = 'firing';--> statement-breakpoint
CREATE INDEX "alert_events_rule_pipeline" ON "alert_events" USING btree ("rule_id","pipeline_id","fired_at");--> statement-breakpoint
CREATE INDEX "alert_events_fired" ON "alert_events" USING btree ("fired_at");