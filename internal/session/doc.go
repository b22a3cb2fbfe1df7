// Package session is the server's business logic: apps and their keys,
// login (plain and secure mode), access-token validation, secure logout and
// revocation, ban, unban and deletion of users.
//
// It keeps the state that token validation needs in memory — apps and
// active keys, revoked sessions, banned and deleted users — loaded from the
// store at start and changed only after the store has committed, so that
// validation needs no database round trip and never runs ahead of what is
// durable. Every write is store-first: nothing is reported done that the
// store has not acknowledged.
//
// It takes its own input types (LoginInput, VisitorLoginInput), not the
// HTTP bodies, and pushes events to live connections through the Publisher
// it is built with (the realtime broker, built first).
package session
