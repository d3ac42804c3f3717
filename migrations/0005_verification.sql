-- Address verification (issue 11): one row per user and channel while an address awaits its
-- owner's code. Hand-written; keyed by (app_id, user_id) with no foreign key to users, so that
-- it survives migration 0001 rebuilding the users table with per-app ids.
CREATE TABLE `address_verifications` (
	`app_id` text NOT NULL,
	`user_id` text NOT NULL,
	`channel` text NOT NULL,
	`address` text NOT NULL,
	`code_id` text,
	`code_hash` text,
	`kind` text DEFAULT 'code' NOT NULL,
	`expires_at` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`failed_at` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`app_id`, `user_id`, `channel`)
);
