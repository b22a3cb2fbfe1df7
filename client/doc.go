// Package client is the Go SDK of Gatehouse: the social.plus client
// authentication API, idiomatic in Go, for bots, desktop apps, CLIs, load
// tests and services acting for a user. It speaks the social.plus wire
// protocol, so it works against Gatehouse and any social.plus-compatible
// endpoint.
//
// A Client logs a user in (with an optional secure-mode auth token, or with
// an access token signed by the customer's backend) or logs the device in
// as a read-only visitor or bot (LoginAsVisitor, LoginAsBot), reports its session
// state through observers, renews the access token ahead of expiry through
// a session handler or an access-token handler, logs out locally or
// securely (revoking the token on the server), and can save the session so
// that a later Client restores it.
//
// The session follows the social.plus state machine (see
// gatehouse.Transition): notLoggedIn → establishing → established;
// established → tokenExpired → establishing (renewal); established →
// terminated (the server answered 400100, or the user was banned or
// deleted); terminated → establishing only through a new login;
// established → notLoggedIn on logout. The client cannot make any other
// move.
//
// The package uses only the standard library, package gatehouse and package
// wire. It logs nothing unless given a logger. Every method is safe for
// concurrent use; every blocking call takes a context.
package client
