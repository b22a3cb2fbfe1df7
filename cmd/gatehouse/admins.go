package main

import (
	"context"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type verbFunc func(use, short string, args []string, flags func(*pflag.FlagSet), do func(context.Context, *call, []string) (*result, error)) *cobra.Command

// consoleCommands are the verbs of console administrators, their admin API
// tokens and the audit log.
func consoleCommands(v verbFunc) []*cobra.Command {
	esc := url.PathEscape
	var role string
	var set struct {
		role     string
		disabled string
	}
	var tok struct{ name, expires string }
	var aud struct {
		actor, action, app, since, until string
		limit                            int
	}
	admin := group("admin", "Console administrators and their admin API tokens",
		v("create", "Create a console administrator; prints a one-time initial password", []string{"NAME"},
			func(fs *pflag.FlagSet) {
				fs.StringVar(&role, "role", "", "`ROLE`: owner (manages administrators), admin (manages apps and users) or viewer (reads)")
			},
			func(ctx context.Context, c *call, a []string) (*result, error) {
				if role == "" {
					return nil, usageErr("admin create needs --role owner, admin or viewer")
				}
				out, err := c.admin(ctx, "POST", "/admins", map[string]string{"name": a[0], "role": role})
				if err != nil {
					return nil, err
				}
				return &result{obj: flat(out, "admin", map[string]any{"password": out["password"]}),
					note: "Administrator created. The initial password is shown only once: sign in at /console and change it."}, nil
			}),
		v("list", "List the console administrators", nil, nil,
			func(ctx context.Context, c *call, a []string) (*result, error) {
				out, err := c.admin(ctx, "GET", "/admins", nil)
				return &result{obj: out}, err
			}),
		v("set", "Change an administrator's role, or disable or enable them", []string{"NAME"},
			func(fs *pflag.FlagSet) {
				fs.StringVar(&set.role, "role", "", "new `ROLE`: owner, admin or viewer")
				fs.StringVar(&set.disabled, "disabled", "", "true: end their sessions and refuse their tokens; false: enable again")
			},
			func(ctx context.Context, c *call, a []string) (*result, error) {
				body := map[string]any{}
				if set.role != "" {
					body["role"] = set.role
				}
				if set.disabled != "" {
					b, err := strconv.ParseBool(set.disabled)
					if err != nil {
						return nil, usageErr("--disabled takes true or false")
					}
					body["disabled"] = b
				}
				if len(body) == 0 {
					return nil, usageErr("admin set: nothing to change (use --role or --disabled)")
				}
				out, err := c.admin(ctx, "PATCH", "/admins/"+esc(a[0]), body)
				if err != nil {
					return nil, err
				}
				return &result{obj: flat(out, "admin", nil)}, nil
			}),
		group("token", "Admin API tokens of an administrator (they act with the administrator's role)",
			v("create", "Create an admin API token for the administrator NAME (shown once)", []string{"NAME"},
				func(fs *pflag.FlagSet) {
					fs.StringVar(&tok.name, "name", "", "a `LABEL` for the token (default \"token\")")
					fs.StringVar(&tok.expires, "expires", "", "lifetime, e.g. 720h (default one year: 8760h)")
				},
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "POST", "/admins/"+esc(a[0])+"/tokens", map[string]string{"name": tok.name, "expiresIn": tok.expires})
					if err != nil {
						return nil, err
					}
					return &result{obj: flat(out, "key", map[string]any{"token": out["token"], "admin": a[0]}),
						note: "Token created. It is shown only once."}, nil
				}),
			v("list", "List an administrator's tokens (never the tokens)", []string{"NAME"}, nil,
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "GET", "/admins/"+esc(a[0])+"/tokens", nil)
					return &result{obj: out}, err
				}),
			v("revoke", "Revoke a token; it is refused at once", []string{"NAME", "TOKEN_ID"}, nil,
				func(ctx context.Context, c *call, a []string) (*result, error) {
					out, err := c.admin(ctx, "DELETE", "/admins/"+esc(a[0])+"/tokens/"+esc(a[1]), nil)
					if err != nil {
						return nil, err
					}
					return &result{obj: flat(out, "key", map[string]any{"admin": a[0]})}, nil
				}),
		),
	)
	audit := v("audit", "Show the audit log, newest first", nil,
		func(fs *pflag.FlagSet) {
			fs.StringVar(&aud.actor, "actor", "", "only this administrator (or root)")
			fs.StringVar(&aud.action, "action", "", "only this action (user.ban), or a family (user.)")
			fs.StringVar(&aud.app, "app", "", "only this `APP_ID`")
			fs.StringVar(&aud.since, "since", "", "from this RFC 3339 `TIME`")
			fs.StringVar(&aud.until, "until", "", "before this RFC 3339 `TIME`")
			fs.IntVar(&aud.limit, "limit", 50, "at most `N` entries (up to 500)")
		},
		func(ctx context.Context, c *call, a []string) (*result, error) {
			q := url.Values{}
			for k, v := range map[string]string{"actor": aud.actor, "action": aud.action, "appId": aud.app, "since": aud.since, "until": aud.until} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(aud.limit))
			out, err := c.admin(ctx, "GET", "/audit?"+q.Encode(), nil)
			return &result{obj: out}, err
		})
	return []*cobra.Command{admin, audit}
}
