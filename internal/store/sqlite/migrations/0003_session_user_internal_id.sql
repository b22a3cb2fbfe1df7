-- +goose Up
-- The internal user id has one name everywhere: users.id is referenced as
-- user_internal_id (users.user_id is the public id chosen by the customer).
ALTER TABLE sessions RENAME COLUMN user_id TO user_internal_id;
