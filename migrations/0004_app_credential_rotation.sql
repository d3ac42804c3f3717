-- Rotating an app's key and client secret (POST /admin/apps/{appId}/rotate): the previous pair
-- stays valid until previous_valid_until (ms since the epoch), so deployed clients can move over.
-- Hand-written (issue 13). Nullable columns: safe to apply before the code that uses them.
ALTER TABLE `apps` ADD `previous_app_key` text;--> statement-breakpoint
ALTER TABLE `apps` ADD `previous_client_secret_hash` text;--> statement-breakpoint
ALTER TABLE `apps` ADD `previous_valid_until` integer;
