package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes. Scripts can tell the failures apart; they are listed in
// "gatehouse --help" (exitCodesHelp) and in the README.
const (
	exitOK           = 0
	exitFailure      = 1 // anything not below
	exitUsage        = 2 // bad command line: unknown command or flag, wrong arguments, bad setting
	exitUnreachable  = 3 // cannot reach the Gatehouse server
	exitUnauthorized = 4 // no admin token, or the server refused the admin token or server key
	exitNotFound     = 5 // unknown app, user, session or key
	exitRefused      = 6 // the server refused the request (invalid, conflicting or forbidden)
	exitUnavailable  = 7 // the server could not do it now (storage unavailable, rate limited): retry
)

// exitCodesShort closes each admin verb's help.
const exitCodesShort = `Exit codes: 0 success, 1 other failure, 2 usage, 3 server unreachable, 4 unauthorized,
5 not found, 6 refused, 7 unavailable (retry); "gatehouse --help" explains them.`

const exitCodesHelp = `Exit codes:
  0  success
  1  other failure
  2  usage: unknown command or flag, wrong arguments, bad setting
  3  cannot reach the Gatehouse server
  4  unauthorized: no admin token, or the server refused the admin token or server key
  5  not found: unknown app, user, session or key
  6  refused: the server rejected the request as invalid, conflicting or forbidden
  7  unavailable: the server could not do it now (storage down, rate limited); retry
`

// cliError is an error with an exit code, printed as text or, with --json,
// as {"error":{...}}.
type cliError struct {
	Kind       string `json:"kind"` // usage, unreachable, unauthorized, not_found, refused, unavailable, failure
	Message    string `json:"message"`
	Hint       string `json:"hint,omitempty"`
	ExitCode   int    `json:"exitCode"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Code       int    `json:"code,omitempty"` // social.plus error code from the server
}

func (e *cliError) Error() string { return e.Message }

func usageErr(format string, a ...any) error {
	return &cliError{Kind: "usage", ExitCode: exitUsage, Message: fmt.Sprintf(format, a...)}
}

// newRoot builds the command tree. Every command gets its own flags only, so
// "gatehouse user ban --help" lists exactly what user ban accepts.
func newRoot(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Self-hosted authentication and session server, wire-compatible with social.plus",
		Long: `Gatehouse is a self-hosted authentication and session server for social and chat
apps, wire-compatible with the social.plus authentication system.

"gatehouse serve" runs the server; the other commands administer a running server
over its admin API (--server, default http://127.0.0.1:8080).

` + exitCodesHelp,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRun,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cliError{Kind: "usage", ExitCode: exitUsage, Message: err.Error(), Hint: fmt.Sprintf("run %q for usage", c.CommandPath()+" --help")}
	})
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetVersionTemplate("{{.Version}}\n")

	root.AddGroup(&cobra.Group{ID: "server", Title: "Server:"}, &cobra.Group{ID: "admin", Title: "Administration (over the admin API):"})
	for _, c := range []*cobra.Command{newServeCmd(getenv), newMigrateCmd(getenv), newBackupCmd(getenv), newRestoreCmd(getenv), newVersionCmd()} {
		c.GroupID = "server"
		root.AddCommand(c)
	}
	for _, c := range adminCommands(getenv) {
		c.GroupID = "admin"
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID("server")
	return root
}

// group returns a command that only holds subcommands: run without one it
// prints its help and fails with a usage error; with an unknown one it
// suggests the nearest.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: groupRun}
	c.AddCommand(subs...)
	return c
}

func groupRun(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		c.SetOut(c.ErrOrStderr())
		c.Help()
		return usageErr("%s needs a command", c.CommandPath())
	}
	e := &cliError{Kind: "usage", ExitCode: exitUsage, Message: fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath()),
		Hint: fmt.Sprintf("run %q for the commands", c.CommandPath()+" --help")}
	c.SuggestionsMinimumDistance = 2
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		e.Hint = "did you mean " + strings.Join(quoteAll(s), " or ") + "?"
	}
	return e
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// exactArgs checks the number of positional arguments and names them in the
// error.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return &cliError{Kind: "usage", ExitCode: exitUsage,
				Message: fmt.Sprintf("%s takes %d argument(s) (%s), got %d", c.CommandPath(), len(names), strings.Join(names, " "), len(args)),
				Hint:    fmt.Sprintf("run %q for usage", c.CommandPath()+" --help")}
		}
		return nil
	}
}

// reportError prints err on stderr, or as one JSON object on stdout when the
// command line asked for --json, and returns the exit code.
func reportError(cmd *cobra.Command, args []string, err error, stdout, stderr io.Writer) int {
	var ce *cliError
	if !errors.As(err, &ce) {
		ce = &cliError{Kind: "failure", ExitCode: exitFailure, Message: err.Error()}
		if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
			ce.Kind, ce.ExitCode = "usage", exitUsage
		}
	}
	if wantsJSON(cmd, args) {
		b, _ := json.Marshal(map[string]any{"error": ce})
		fmt.Fprintln(stdout, string(b))
		return ce.ExitCode
	}
	fmt.Fprintln(stderr, "gatehouse:", ce.Message)
	if ce.Hint != "" {
		fmt.Fprintln(stderr, "hint:", ce.Hint)
	}
	return ce.ExitCode
}

func wantsJSON(cmd *cobra.Command, args []string) bool {
	if cmd != nil {
		if f := cmd.Flags().Lookup("json"); f != nil && f.Changed {
			return f.Value.String() == "true"
		}
	}
	// The flags may not have parsed (a usage error): look at the line.
	return slices.Contains(args, "--json") || slices.Contains(args, "--json=true")
}

// Settings: flags that also read GATEHOUSE_<NAME> from the environment
// (and, for serve, <name> from the config file). See config.go.

const (
	annSetting  = "gatehouse_setting"   // the flag is a setting
	annSecretOf = "gatehouse_secret_of" // this -file flag holds the value of the named flag
)

// envName is the environment variable of a setting flag: GATEHOUSE_ and the
// flag name in upper snake case (--admin-token-file: GATEHOUSE_ADMIN_TOKEN_FILE).
func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// markSettings makes flags settings.
func markSettings(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		if err := fs.SetAnnotation(n, annSetting, []string{envName(n)}); err != nil {
			panic(err) // a programming error, caught by every test
		}
	}
}

// secretStringVar defines a secret setting --NAME and its companion
// --NAME-file (the value read from a file, trimmed, so it stays out of ps
// and the shell history). Both are settings.
func secretStringVar(fs *pflag.FlagSet, p *string, name, value, usage string) {
	fs.StringVar(p, name, value, usage)
	fs.String(name+"-file", "", "`FILE` holding the "+name+" (instead of --"+name+")")
	markSettings(fs, name, name+"-file")
	fs.SetAnnotation(name+"-file", annSecretOf, []string{name})
}
