package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-auth/gatehouse/wire"
)

// Output shapes, the same for every verb (--json prints exactly one object):
//   - a verb acting on one object (create, add, get, set, ban, revoke,
//     rotate…) prints that object, flat; a one-time secret sits beside its
//     fields under its own name (apiKey, serverKey), with the app's appId;
//   - a list verb prints {"<things>": […]} (apps, keys, sessions);
//   - errors print {"error": {"kind", "message", "hint", "exitCode",
//     "httpStatus", "code"}} and exit non-zero (see exitCodesHelp).
// Without --json, objects print as aligned FIELD VALUE rows and lists as
// aligned tables; auth-token prints the bare token, so $(…) captures it.

// call is one admin verb's connection: its flags and the HTTP client.
type call struct {
	getenv    func(string) string
	server    string
	data      string
	json      bool
	token     string
	tokenFrom string // where the admin token came from, for error hints
	http      *http.Client
	cmd       *cobra.Command
}

// adminVerb builds a leaf command that talks to the admin API. flags, when
// not nil, adds the verb's own flags.
func adminVerb(getenv func(string) string, use, short string, args []string,
	flags func(fs *pflag.FlagSet), do func(ctx context.Context, c *call, args []string) (*result, error)) *cobra.Command {
	c := &call{getenv: getenv}
	cmd := &cobra.Command{
		Use:   strings.TrimSpace(use + " " + strings.Join(args, " ")),
		Short: short,
		Long:  short + ".\n\n" + exitCodesShort,
		Args:  exactArgs(args...),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.cmd = cmd
			if err := loadSettings(cmd.Flags(), getenv); err != nil {
				return &cliError{Kind: "usage", ExitCode: exitUsage, Message: err.Error()}
			}
			c.http = &http.Client{Timeout: 30 * time.Second}
			res, err := do(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			return res.print(cmd.OutOrStdout(), c.json)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	if flags != nil {
		flags(fs)
	}
	c.addConnFlags(fs, use != "auth-token")
	return cmd
}

func (c *call) addConnFlags(fs *pflag.FlagSet, admin bool) {
	fs.StringVar(&c.server, "server", "http://127.0.0.1:8080", "Gatehouse server `URL`")
	markSettings(fs, "server")
	if admin {
		fs.String("admin-token", "", "admin `TOKEN` (prefer --admin-token-file: a flag shows in ps)")
		fs.String("admin-token-file", "", "`FILE` holding the admin token")
		fs.StringVar(&c.data, "data", "gatehouse-data", "the server's data `DIR`, where the admin token is looked for when none is given")
		markSettings(fs, "data")
	}
	fs.BoolVar(&c.json, "json", false, "print one JSON object (errors too)")
}

// secretSetting reads a secret given as --NAME, --NAME-file, GATEHOUSE_NAME
// or GATEHOUSE_NAME_FILE (in that order) and says where it came from.
func secretSetting(fs *pflag.FlagSet, getenv func(string) string, name string) (val, from string, err error) {
	f, ff := fs.Lookup(name), fs.Lookup(name+"-file")
	if f.Changed && ff.Changed {
		return "", "", usageErr("give --%s or --%s, not both", name, name+"-file")
	}
	readFile := func(path, from string) (string, string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", from, err
		}
		return strings.TrimSpace(string(b)), from, nil
	}
	switch {
	case f.Changed:
		return f.Value.String(), "--" + name, nil
	case ff.Changed:
		return readFile(ff.Value.String(), "--"+name+"-file "+ff.Value.String())
	case getenv(envName(name)) != "":
		return getenv(envName(name)), envName(name), nil
	case getenv(envName(name+"-file")) != "":
		p := getenv(envName(name + "-file"))
		return readFile(p, envName(name+"-file")+"="+p)
	}
	return "", "", nil
}

// adminToken finds the admin token: the flags and environment, else the
// token the server generated into <data>/admin-token.
func (c *call) adminToken() error {
	tok, from, err := secretSetting(c.cmd.Flags(), c.getenv, "admin-token")
	if err != nil {
		var ce *cliError
		if errors.As(err, &ce) {
			return err
		}
		return &cliError{Kind: "unauthorized", ExitCode: exitUnauthorized, Message: "no admin token: " + err.Error(),
			Hint: "the file named by " + from + " must hold the admin token"}
	}
	if tok == "" {
		path := filepath.Join(c.data, "admin-token")
		b, err := os.ReadFile(path)
		abs, _ := filepath.Abs(path)
		if err != nil {
			e := &cliError{Kind: "unauthorized", ExitCode: exitUnauthorized,
				Message: "no admin token: none given, and " + abs + " " + reason(err),
				Hint: "run the CLI where the server's data directory is, set --data or GATEHOUSE_DATA to it, " +
					"or pass --admin-token-file (or GATEHOUSE_ADMIN_TOKEN_FILE)"}
			return e
		}
		tok, from = strings.TrimSpace(string(b)), abs
	}
	if tok == "" {
		return &cliError{Kind: "unauthorized", ExitCode: exitUnauthorized, Message: "no admin token: " + from + " is empty"}
	}
	c.token, c.tokenFrom = tok, from
	return nil
}

func reason(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "does not exist"
	case errors.Is(err, os.ErrPermission):
		return "is not readable by this user"
	}
	return "cannot be read: " + err.Error()
}

// admin calls the admin API with the admin token.
func (c *call) admin(ctx context.Context, method, path string, body any) (map[string]any, error) {
	if c.token == "" {
		if err := c.adminToken(); err != nil {
			return nil, err
		}
	}
	out, _, err := c.do(ctx, method, "/admin/v1"+path, body, http.Header{"Authorization": {"Bearer " + c.token}})
	return out, err
}

func (c *call) do(ctx context.Context, method, path string, body any, header http.Header) (map[string]any, []byte, error) {
	resp, err := c.send(ctx, method, path, body, header)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, &cliError{Kind: "unreachable", ExitCode: exitUnreachable, Message: fmt.Sprintf("reading the answer of %s: %v", c.server, err)}
	}
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, raw, fmt.Errorf("bad JSON from the server: %w", err)
		}
	}
	return out, raw, nil
}

// send makes a request and returns the response when it is a success (the
// caller closes its body); failures become cliErrors with their exit codes.
func (c *call) send(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	base := strings.TrimRight(c.server, "/")
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, usageErr("--server %q: %v", c.server, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// The server's audit log tells CLI calls from other admin API calls.
	req.Header.Set("User-Agent", "gatehouse-cli")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &cliError{Kind: "unreachable", ExitCode: exitUnreachable,
			Message: fmt.Sprintf("cannot reach the Gatehouse server at %s: %v", c.server, unwrapURLError(err)),
			Hint:    "is gatehouse serve running there? Point --server (or GATEHOUSE_SERVER) at it"}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, c.httpError(resp.StatusCode, raw)
	}
	return resp, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// httpError turns an error answer into a cliError with its exit code.
func (c *call) httpError(st int, raw []byte) error {
	var we wire.Error
	msg := fmt.Sprintf("HTTP %d from %s", st, c.server)
	if json.Unmarshal(raw, &we) == nil && we.Message != "" {
		msg = we.Message
	}
	e := &cliError{Message: msg, HTTPStatus: st, Code: we.Code}
	switch {
	case st == http.StatusUnauthorized && c.token != "":
		e.Kind, e.ExitCode = "unauthorized", exitUnauthorized
		e.Message = "wrong admin token: the server at " + c.server + " refused the admin token from " + c.tokenFrom
		e.Hint = "use the token the server was started with (--admin-token), or the one it generated into its <data>/admin-token"
	case st == http.StatusUnauthorized:
		e.Kind, e.ExitCode = "unauthorized", exitUnauthorized
	case st == http.StatusNotFound:
		e.Kind, e.ExitCode = "not_found", exitNotFound
	case st == http.StatusTooManyRequests || st >= 500:
		e.Kind, e.ExitCode = "unavailable", exitUnavailable
	case st >= 400:
		e.Kind, e.ExitCode = "refused", exitRefused
	default:
		e.Kind, e.ExitCode = "failure", exitFailure
	}
	return e
}

// result is what a verb prints.
type result struct {
	obj   map[string]any // the JSON output
	note  string         // a line printed before the human output
	plain string         // when set, the whole human output (auth-token)
}

func (r *result) print(w io.Writer, asJSON bool) error {
	if asJSON {
		if r.obj == nil {
			r.obj = map[string]any{}
		}
		b, err := json.Marshal(r.obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	if r.plain != "" {
		_, err := fmt.Fprintln(w, r.plain)
		return err
	}
	if r.note != "" {
		fmt.Fprintln(w, r.note)
	}
	printHuman(w, r.obj)
	return nil
}

// flat returns out[field] as the object to print (the admin API wraps
// single objects as {"key": {...}} or {"users": [u]}), with extra fields
// set beside its own.
func flat(out map[string]any, field string, extra map[string]any) map[string]any {
	var obj map[string]any
	switch v := out[field].(type) {
	case map[string]any:
		obj = v
	case []any:
		if len(v) == 1 {
			obj, _ = v[0].(map[string]any)
		}
	}
	if obj == nil {
		obj = out
	}
	for k, v := range extra {
		if v != nil && v != "" {
			obj[k] = v
		}
	}
	return obj
}

// adminCommands is the admin part of the command tree.
func adminCommands(getenv func(string) string) []*cobra.Command {
	esc := url.PathEscape
	v := func(use, short string, args []string, flags func(*pflag.FlagSet), do func(context.Context, *call, []string) (*result, error)) *cobra.Command {
		return adminVerb(getenv, use, short, args, flags, do)
	}
	get := func(path func([]string) string) func(context.Context, *call, []string) (*result, error) {
		return func(ctx context.Context, c *call, a []string) (*result, error) {
			out, err := c.admin(ctx, "GET", path(a), nil)
			return &result{obj: out}, err
		}
	}
	appPath := func(a []string) string { return "/apps/" + esc(a[0]) }

	// app
	var appSet struct{ accessTTL, authTTL, name, visitors, bots, origins string }
	var atk struct{ alg, secretFile, pubFile, jwksURL string }
	app := group("app", "Create, list and configure apps",
		v("create", "Create an app and its first API key (shown once)", []string{"NAME"}, nil,
			func(ctx context.Context, c *call, a []string) (*result, error) {
				out, err := c.admin(ctx, "POST", "/apps", map[string]string{"name": a[0]})
				if err != nil {
					return nil, err
				}
				if k, _ := out["apiKey"].(string); len(k) >= 16 {
					out["keyId"] = k[:16]
				}
				return &result{obj: out, note: "App created. The API key is shown only once."}, nil
			}),
		v("list", "List the apps", nil, nil, get(func([]string) string { return "/apps" })),
		v("get", "Show an app", []string{"APP_ID"}, nil, get(appPath)),
		v("secure-mode", "Turn secure mode on or off (logins then need an auth token)", []string{"APP_ID", "on|off"}, nil,
			func(ctx context.Context, c *call, a []string) (*result, error) {
				if a[1] != "on" && a[1] != "off" {
					return nil, usageErr("secure-mode takes on or off, not %q", a[1])
				}
				out, err := c.admin(ctx, "PATCH", appPath(a), map[string]bool{"secureMode": a[1] == "on"})
				return &result{obj: out}, err
			}),
		v("set", "Change an app's settings", []string{"APP_ID"},
			func(fs *pflag.FlagSet) {
				fs.StringVar(&appSet.accessTTL, "access-token-ttl", "", "access-token lifetime, e.g. 720h (1h – 8760h)")
				fs.StringVar(&appSet.authTTL, "auth-token-ttl", "", "auth-token lifetime, e.g. 10m (30s – 24h)")
				fs.StringVar(&appSet.name, "name", "", "the app's `NAME`")
				fs.StringVar(&appSet.visitors, "visitors", "", "visitor sessions: off, on, or secure (a signature from your backend is required)")
				fs.StringVar(&appSet.bots, "bots", "", "bot sessions: off or on")
				fs.StringVar(&appSet.origins, "allowed-origins", "", "comma-separated browser `ORIGINS` allowed to log in with the API key (https://app.example), or \"any\"")
			},
			func(ctx context.Context, c *call, a []string) (*result, error) {
				body := map[string]any{}
				for k, v := range map[string]string{"accessTokenTTL": appSet.accessTTL, "authTokenTTL": appSet.authTTL, "name": appSet.name, "visitors": appSet.visitors} {
					if v != "" {
						body[k] = v
					}
				}
				switch appSet.visitors {
				case "", "off", "on", "secure":
				default:
					return nil, usageErr("--visitors takes off, on or secure, not %q", appSet.visitors)
				}
				switch appSet.bots {
				case "":
				case "on", "off":
					body["bots"] = appSet.bots == "on"
				default:
					return nil, usageErr("--bots takes on or off, not %q", appSet.bots)
				}
				switch appSet.origins {
				case "":
				case "any":
					body["allowedOrigins"] = []string{}
				default:
					body["allowedOrigins"] = strings.Split(appSet.origins, ",")
				}
				if len(body) == 0 {
					return nil, usageErr("app set: nothing to change (use --access-token-ttl, --auth-token-ttl, --name, --visitors, --bots or --allowed-origins)")
				}
				out, err := c.admin(ctx, "PATCH", appPath(a), body)
				return &result{obj: out}, err
			}),
		group("visitor-secret", "Secrets that sign secure visitor logins (the app keeps its two newest)",
			v("create", "Create a visitor secret (shown once); the oldest beyond two stops working", []string{"APP_ID"}, nil,
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "POST", appPath(a)+"/visitor-secrets", nil)
					if err != nil {
						return nil, err
					}
					return &result{obj: flat(out, "secret", map[string]any{"visitorSecret": out["visitorSecret"], "appId": a[0]}),
						note: "Visitor secret created. It is shown only once; the app keeps this one and the one before."}, nil
				}),
			v("list", "List the app's visitor secrets (ids and dates, never the secrets)", []string{"APP_ID"}, nil,
				get(func(a []string) string { return appPath(a) + "/visitor-secrets" })),
			v("delete", "Delete a visitor secret; signatures made with it are refused at once", []string{"APP_ID", "SECRET_ID"}, nil,
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "DELETE", appPath(a)+"/visitor-secrets/"+esc(a[1]), nil)
					return &result{obj: out}, err
				}),
		),
		group("access-token-key", "Keys that verify the app's customer-signed access tokens",
			v("add", "Register a key: an HMAC secret, a public key or a JWKS URL", []string{"APP_ID"},
				func(fs *pflag.FlagSet) {
					fs.StringVar(&atk.alg, "alg", "", "algorithm: HS256, HS384, HS512, RS256, PS256, ES256 or EdDSA")
					fs.StringVar(&atk.secretFile, "secret-file", "", "`FILE` holding an HMAC secret")
					fs.StringVar(&atk.pubFile, "public-key-file", "", "`FILE` holding a public key (PEM or JWK)")
					fs.StringVar(&atk.jwksURL, "jwks-url", "", "`URL` of a JWK Set")
				},
				func(ctx context.Context, c *call, a []string) (*result, error) {
					body := map[string]any{"alg": atk.alg}
					switch {
					case atk.secretFile != "":
						b, err := os.ReadFile(atk.secretFile)
						if err != nil {
							return nil, usageErr("--secret-file: %v", err)
						}
						body["secret"] = strings.TrimRight(string(b), "\r\n")
					case atk.pubFile != "":
						b, err := os.ReadFile(atk.pubFile)
						if err != nil {
							return nil, usageErr("--public-key-file: %v", err)
						}
						if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") {
							body["publicKey"] = json.RawMessage(t)
						} else {
							body["publicKey"] = t
						}
					case atk.jwksURL != "":
						body["jwksUrl"] = atk.jwksURL
					default:
						return nil, usageErr("access-token-key add needs --secret-file, --public-key-file or --jwks-url")
					}
					out, err := c.admin(ctx, "POST", appPath(a)+"/access-token-keys", body)
					if err != nil {
						return nil, err
					}
					return &result{obj: flat(out, "key", map[string]any{"appId": a[0]})}, nil
				}),
			v("list", "List the app's access-token keys", []string{"APP_ID"}, nil,
				get(func(a []string) string { return appPath(a) + "/access-token-keys" })),
			v("remove", "Remove an access-token key", []string{"APP_ID", "KEY_ID"}, nil,
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "DELETE", appPath(a)+"/access-token-keys/"+esc(a[1]), nil)
					return &result{obj: out}, err
				}),
		),
	)

	// api-key, server-key
	keyGroup := func(kind, secretField, what string) *cobra.Command {
		var name string
		return group(kind, "Create, list and revoke "+what,
			v("create", "Create a "+strings.TrimSuffix(what, "s")+" (shown once)", []string{"APP_ID"},
				func(fs *pflag.FlagSet) { fs.StringVar(&name, "name", "", "a `NAME` for the key") },
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "POST", appPath(a)+"/"+kind+"s", map[string]string{"name": name})
					if err != nil {
						return nil, err
					}
					return &result{obj: flat(out, "key", map[string]any{secretField: out[secretField], "appId": a[0]}),
						note: "Key created. It is shown only once."}, nil
				}),
			v("list", "List the app's "+what+" (ids and state, never the keys)", []string{"APP_ID"}, nil,
				get(func(a []string) string { return appPath(a) + "/" + kind + "s" })),
			v("revoke", "Revoke a key; it stops working at once", []string{"APP_ID", "KEY_ID"}, nil,
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "DELETE", appPath(a)+"/"+kind+"s/"+esc(a[1]), nil)
					if err != nil {
						return nil, err
					}
					return &result{obj: flat(out, "key", map[string]any{"appId": a[0]})}, nil
				}),
		)
	}

	// user
	userVerb := func(use, short, method, suffix, note string) *cobra.Command {
		return v(use, short, []string{"APP_ID", "USER_ID"}, nil,
			func(ctx context.Context, c *call, a []string) (*result, error) {
				out, err := c.admin(ctx, method, appPath(a)+"/users/"+esc(a[1])+suffix, nil)
				if err != nil {
					return nil, err
				}
				r := &result{obj: flat(out, "users", map[string]any{"appId": a[0]})}
				if note != "" {
					r.note = fmt.Sprintf(note, a[1])
				}
				return r, nil
			})
	}
	user := group("user", "Show, ban, unban and delete users",
		userVerb("get", "Show a user", "GET", "", ""),
		userVerb("ban", "Ban a user globally: their tokens are refused at once (403)", "POST", "/ban", "User %s banned."),
		userVerb("unban", "Lift a global ban (old tokens stay revoked)", "POST", "/unban", "User %s unbanned."),
		userVerb("delete", "Delete a user: tokens refused, login refused", "DELETE", "", "User %s deleted."),
	)

	session := group("session", "List and revoke sessions",
		v("list", "List a user's sessions", []string{"APP_ID", "USER_ID"}, nil,
			get(func(a []string) string { return appPath(a) + "/users/" + esc(a[1]) + "/sessions" })),
		v("revoke", "Revoke one session", []string{"APP_ID", "SESSION_ID"}, nil,
			func(ctx context.Context, c *call, a []string) (*result, error) {
				out, err := c.admin(ctx, "DELETE", appPath(a)+"/sessions/"+esc(a[1]), nil)
				if err != nil {
					return nil, err
				}
				return &result{obj: flat(out, "session", map[string]any{"appId": a[0]})}, nil
			}),
		v("revoke-all", "Revoke every session of a user", []string{"APP_ID", "USER_ID"}, nil,
			func(ctx context.Context, c *call, a []string) (*result, error) {
				out, err := c.admin(ctx, "DELETE", appPath(a)+"/users/"+esc(a[1])+"/sessions", nil)
				return &result{obj: out}, err
			}),
	)

	var emergency bool
	signing := group("signing-key", "List and rotate the keys that sign access tokens",
		v("list", "List the signing keys", nil, nil, get(func([]string) string { return "/signing-keys" })),
		v("rotate", "Start signing with a new key", nil,
			func(fs *pflag.FlagSet) {
				fs.BoolVar(&emergency, "emergency", false, "drop the old keys, so every token issued before is refused at once")
			},
			func(ctx context.Context, c *call, a []string) (*result, error) {
				out, err := c.admin(ctx, "POST", "/signing-keys/rotate", map[string]bool{"emergency": emergency})
				if err != nil {
					return nil, err
				}
				return &result{obj: flat(out, "key", map[string]any{"emergency": emergency})}, nil
			}),
	)

	authToken := adminVerb(getenv, "auth-token", "Mint a secure-mode auth token with a server key (as a customer's backend does)", []string{"USER_ID"},
		func(fs *pflag.FlagSet) {
			fs.String("server-key", "", "server `KEY` (prefer --server-key-file or GATEHOUSE_SERVER_KEY: a flag shows in ps)")
			fs.String("server-key-file", "", "`FILE` holding the server key")
		},
		func(ctx context.Context, c *call, a []string) (*result, error) {
			key, from, err := secretSetting(c.cmd.Flags(), c.getenv, "server-key")
			if err != nil {
				var ce *cliError
				if errors.As(err, &ce) {
					return nil, err
				}
				return nil, &cliError{Kind: "unauthorized", ExitCode: exitUnauthorized, Message: "no server key: " + err.Error(), Hint: from + " must name a readable file"}
			}
			if key == "" {
				return nil, &cliError{Kind: "unauthorized", ExitCode: exitUnauthorized, Message: "no server key",
					Hint: "pass --server-key-file FILE, or set GATEHOUSE_SERVER_KEY; create one with: gatehouse server-key create APP_ID"}
			}
			_, raw, err := c.do(ctx, "POST", "/api/v4/authentication/token", map[string]string{"userId": a[0]}, http.Header{"X-Server-Key": {key}})
			var ce *cliError
			if errors.As(err, &ce) && ce.HTTPStatus == http.StatusUnauthorized {
				ce.Message = "the server refused the server key from " + from + " (" + ce.Message + ")"
			}
			if err != nil {
				return nil, err
			}
			tok := strings.TrimSpace(string(raw))
			return &result{obj: map[string]any{"authToken": tok, "userId": a[0]}, plain: tok}, nil
		})

	return append([]*cobra.Command{app, keyGroup("api-key", "apiKey", "API keys"), keyGroup("server-key", "serverKey", "server keys"),
		user, session, authToken, signing}, consoleCommands(v)...)
}
