-- +goose Up
-- Browser origins allowed to log in with an app's API key, space-separated;
-- empty allows any.
ALTER TABLE apps ADD COLUMN allowed_origins text NOT NULL DEFAULT '';
