-- Control plane and shards (issue 15). One folder of migrations is applied to every database
-- (`npm run migrate`): the control database (binding DB) and each user-data shard (USERS_0 …
-- USERS_n). Tables that a database does not use stay empty there, so one schema fits all, and a
-- shard bound to the same database as DB (an upgraded one-database install) needs nothing copied.
-- Hand-written; docs/storage.md describes every column.
--
-- apps: which shard holds the app's users (the index n of binding USERS_n), a routing version
-- bumped by every move, and the target while a move copies (writes are refused meanwhile).
-- Defaults put every existing app on shard 0.
ALTER TABLE `apps` ADD `shard` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `apps` ADD `routing_version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `apps` ADD `moving_to` integer;--> statement-breakpoint
ALTER TABLE `apps` ADD `moving_since` integer;--> statement-breakpoint
CREATE INDEX `apps_shard` ON `apps` (`shard`);--> statement-breakpoint
-- A fence, in a shard, for an app whose rows there must not change: `frozen` while a move copies
-- them away, `moved` once the app lives elsewhere (or was deleted), `purging` only inside the
-- batch that deletes the left-behind rows. The triggers below refuse every write to an app's
-- user-scoped rows while its fence stands, so a request that read the routing before a move
-- cannot write where nobody will look again: it fails with `latchkey_app_moving` (a 503).
CREATE TABLE `app_fences` (
	`app_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`move_id` text NOT NULL,
	`since` integer NOT NULL
);
--> statement-breakpoint
CREATE TRIGGER `users_fence_insert` BEFORE INSERT ON `users` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = NEW.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `users_fence_update` BEFORE UPDATE ON `users` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `users_fence_delete` BEFORE DELETE ON `users` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `access_tokens_fence_insert` BEFORE INSERT ON `access_tokens` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = NEW.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `access_tokens_fence_update` BEFORE UPDATE ON `access_tokens` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `access_tokens_fence_delete` BEFORE DELETE ON `access_tokens` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `password_resets_fence_insert` BEFORE INSERT ON `password_resets` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = NEW.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `password_resets_fence_update` BEFORE UPDATE ON `password_resets` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `password_resets_fence_delete` BEFORE DELETE ON `password_resets` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `address_verifications_fence_insert` BEFORE INSERT ON `address_verifications` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = NEW.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `address_verifications_fence_update` BEFORE UPDATE ON `address_verifications` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `address_verifications_fence_delete` BEFORE DELETE ON `address_verifications` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `sign_in_guards_fence_insert` BEFORE INSERT ON `sign_in_guards` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = NEW.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `sign_in_guards_fence_update` BEFORE UPDATE ON `sign_in_guards` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `sign_in_guards_fence_delete` BEFORE DELETE ON `sign_in_guards` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `sessions_fence_insert` BEFORE INSERT ON `sessions` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = NEW.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `sessions_fence_update` BEFORE UPDATE ON `sessions` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;--> statement-breakpoint
CREATE TRIGGER `sessions_fence_delete` BEFORE DELETE ON `sessions` WHEN EXISTS (SELECT 1 FROM `app_fences` WHERE `app_id` = OLD.`app_id` AND `state` <> 'purging')
BEGIN SELECT RAISE(ABORT, 'latchkey_app_moving'); END;
