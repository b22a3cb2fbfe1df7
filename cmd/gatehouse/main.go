// Command gatehouse runs the Gatehouse server (gatehouse serve) and
// administers it over its admin API (gatehouse app|api-key|server-key|user|
// session ...). Run "gatehouse help" for the verbs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

const usage = `usage: gatehouse <command> [arguments]

Server:
  serve [--addr HOST:PORT] [--data DIR] [--admin-token TOKEN]
                                      run the server (SQLite under DIR)

Administration (over the admin API; --server URL, --admin-token TOKEN, --json):
  app create NAME                     create an app and its first API key
  app list | app get APP_ID
  app secure-mode APP_ID on|off
  app set APP_ID [--access-token-ttl D] [--auth-token-ttl D] [--name NAME]
  app access-token-key add APP_ID --alg ALG (--secret-file F | --public-key-file F | --jwks-url URL)
  app access-token-key list APP_ID | app access-token-key remove APP_ID KEY_ID
  api-key create|list APP_ID | api-key revoke APP_ID KEY_ID
  server-key create|list APP_ID | server-key revoke APP_ID KEY_ID
  user get|ban|unban|delete APP_ID USER_ID
  session list APP_ID USER_ID
  session revoke APP_ID SESSION_ID | session revoke-all APP_ID USER_ID
  auth-token USER_ID --server-key KEY mint a secure-mode auth token
  signing-key list | signing-key rotate [--emergency]
                                      rotate the key that signs access tokens

Environment: GATEHOUSE_ADDR, GATEHOUSE_DATA, GATEHOUSE_ADMIN_TOKEN,
GATEHOUSE_SERVER (default http://127.0.0.1:8080), GATEHOUSE_LOG_FORMAT
(text|json), GATEHOUSE_LOG_LEVEL (debug|info|warn|error).
`

// run is the whole program, with its environment passed in so that tests
// can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "app", "api-key", "server-key", "user", "session", "auth-token", "signing-key":
		return admin(ctx, args, getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
