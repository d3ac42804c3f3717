-- Per-account sign-in guard (issue 10): password checks reserved against the app's lockout
-- policy, the automatic lock that follows too many failures, and an admin's lock (ZITADEL
-- LockUser). Its own table keyed by (app_id, user_id), so the users table is left alone.
-- Hand-written; docs/storage.md describes every column.
CREATE TABLE `sign_in_guards` (
	`app_id` text NOT NULL,
	`user_id` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_attempt_at` integer DEFAULT 0 NOT NULL,
	`locked_until` integer DEFAULT 0 NOT NULL,
	`lock_count` integer DEFAULT 0 NOT NULL,
	`admin_locked` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`app_id`, `user_id`)
);
--> statement-breakpoint
-- ZITADEL SessionService v2 sessions: only the SHA-256 of the session token is kept.
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`user_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`user_checked_at` integer NOT NULL,
	`password_checked_at` integer,
	`sequence` integer DEFAULT 1 NOT NULL,
	`expires_at` integer,
	`created_at` integer NOT NULL,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_app_user` ON `sessions` (`app_id`,`user_id`);
