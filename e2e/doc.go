// Package e2e holds end-to-end tests that run the real gatehouse binary as
// a process: the CLI walk-through of the README, and the official
// social.plus TypeScript SDK (from npm, under Node.js) logging in against it.
package e2e
