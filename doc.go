// Package gatehouse holds the domain of the Gatehouse authentication server:
// apps, users, sessions, the client session state machine and the error
// vocabulary shared by the server, the Go SDK and the backend helper.
//
// It imports only the standard library. Wire shapes live in package wire,
// token handling in package token, and all server code under internal/.
package gatehouse
