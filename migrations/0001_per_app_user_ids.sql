-- User ids become unique per app instead of globally (issue 9, item 8): a ZITADEL caller that
-- chooses a userId taken in another app must not learn so. users keeps its rows and rowids
-- (Kii's internalUserID); only its unique index changes. The two tables that point at a user
-- now do so by (app_id, user_id), which SQLite can only change by rebuilding them.
--
-- Hand-written (drizzle-kit would copy rows into the children before the parent's new unique
-- index exists, which SQLite refuses as a foreign key mismatch). D1 enforces foreign keys and
-- ignores PRAGMA foreign_keys = off inside a migration, so violations are deferred to the commit
-- instead; no parent table is dropped, so no ON DELETE CASCADE can fire.
PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE UNIQUE INDEX `users_app_id` ON `users` (`app_id`,`id`);--> statement-breakpoint
CREATE TABLE `__new_access_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`user_id` text,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`app_id`,`user_id`) REFERENCES `users`(`app_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_access_tokens`("token_hash", "app_id", "user_id", "expires_at", "created_at") SELECT "token_hash", "app_id", "user_id", "expires_at", "created_at" FROM `access_tokens`;--> statement-breakpoint
DROP TABLE `access_tokens`;--> statement-breakpoint
ALTER TABLE `__new_access_tokens` RENAME TO `access_tokens`;--> statement-breakpoint
CREATE INDEX `access_tokens_user` ON `access_tokens` (`app_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `access_tokens_expiry` ON `access_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `__new_password_resets` (
	`user_id` text NOT NULL,
	`app_id` text NOT NULL,
	`code_id` text,
	`expires_at` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`failed_at` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`app_id`, `user_id`),
	FOREIGN KEY (`app_id`,`user_id`) REFERENCES `users`(`app_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_password_resets`("user_id", "app_id", "code_id", "expires_at", "failures", "failed_at", "updated_at") SELECT "user_id", "app_id", "code_id", "expires_at", "failures", "failed_at", "updated_at" FROM `password_resets`;--> statement-breakpoint
DROP TABLE `password_resets`;--> statement-breakpoint
ALTER TABLE `__new_password_resets` RENAME TO `password_resets`;--> statement-breakpoint
DROP INDEX `users_id_unique`;
