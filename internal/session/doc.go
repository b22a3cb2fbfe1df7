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
// Service (service.go) orchestrates: each operation writes to the store,
// then updates the in-memory parts, which are types of their own:
//
//   - revocationIndex (revocations.go): revoked sessions, banned and
//     deleted users and their "tokens issued before T are revoked"
//     watermarks, revoked customer tokens. Validation, the login fast
//     path and the event applier (bus.go) read and update it.
//   - customerVerifier (customerverifier.go): an app's keys for
//     customer-signed tokens (HMAC, public keys, JWKS URLs fetched through
//     the KeyFetcher), signature and claims checks, and the cache of
//     verified tokens. customer.go keeps the rest: registering keys,
//     mapping a verified token to its user, revocation on logout.
//   - caches bounded by bytes (package bounded) for the login fast path
//     (login.go) and for customer tokens' users; entry sizes in service.go.
//
// Each has unit tests of its own, without a store.
//
// It takes its own input types (LoginInput, VisitorLoginInput), not the
// HTTP bodies, and pushes events to live connections through the Publisher
// it is built with (the realtime broker, built first).
package session
