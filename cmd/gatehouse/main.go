// Command gatehouse runs the Gatehouse server (gatehouse serve) and
// administers it over its admin API (gatehouse app|api-key|server-key|user|
// session ...). Run "gatehouse --help" for the commands and "gatehouse
// COMMAND --help" for one command's flags.
//
// The CLI is built on spf13/cobra: root.go holds the command tree, the exit
// codes and the error printing; config.go the settings of serve (flags,
// GATEHOUSE_* environment, optional config file, secrets from files);
// admin.go the admin verbs and their output.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, with its environment passed in so that tests
// can run it in-process. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	root := newRoot(getenv, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(cmd, args, err, stdout, stderr)
}
