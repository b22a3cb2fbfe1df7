package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/wire"
)

// adminClient talks to the admin API.
type adminClient struct {
	server string
	token  string
	http   *http.Client
}

func (c *adminClient) do(ctx context.Context, method, path string, body any, header http.Header) (map[string]any, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach the Gatehouse server at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 300 {
		var e wire.Error
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return nil, raw, fmt.Errorf("%s (HTTP %d, code %d)", e.Message, resp.StatusCode, e.Code)
		}
		return nil, raw, fmt.Errorf("HTTP %d from %s", resp.StatusCode, path)
	}
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, raw, fmt.Errorf("bad JSON from server: %w", err)
		}
	}
	return out, raw, nil
}

// cliFlags are the flags every admin verb accepts, anywhere on the line.
type cliFlags struct {
	server, token, serverKey string
	json                     bool
	accessTTL, authTTL, name string
	alg, secretFile, pubFile string
	jwksURL                  string
	emergency                bool
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func newAdminFlagSet(f *cliFlags, getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	f.server, f.token = getenv("GATEHOUSE_SERVER"), getenv("GATEHOUSE_ADMIN_TOKEN")
	if f.server == "" {
		f.server = "http://127.0.0.1:8080"
	}
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.server, "server", f.server, "Gatehouse server `URL`")
	fs.StringVar(&f.token, "admin-token", f.token, "admin `TOKEN`")
	fs.BoolVar(&f.json, "json", false, "print one JSON object")
	fs.StringVar(&f.accessTTL, "access-token-ttl", "", "access token lifetime, e.g. 720h")
	fs.StringVar(&f.authTTL, "auth-token-ttl", "", "auth token lifetime, e.g. 10m")
	fs.StringVar(&f.name, "name", "", "name")
	fs.StringVar(&f.serverKey, "server-key", getenv("GATEHOUSE_SERVER_KEY"), "server `KEY` (auth-token)")
	fs.StringVar(&f.alg, "alg", "", "algorithm of an access-token key: HS256, HS384, HS512, RS256, PS256, ES256, EdDSA")
	fs.StringVar(&f.secretFile, "secret-file", "", "`FILE` holding an HMAC secret")
	fs.StringVar(&f.pubFile, "public-key-file", "", "`FILE` holding a public key (PEM or JWK)")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "`URL` of a JWK Set")
	fs.BoolVar(&f.emergency, "emergency", false, "signing-key rotate: drop the old keys, so every token issued before is refused")
	return fs
}

func admin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var f cliFlags
	fs := newAdminFlagSet(&f, getenv, stderr)
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if f.token == "" && args[0] != "auth-token" {
		f.token = tokenFromDataDir(getenv)
	}
	c := &adminClient{server: f.server, token: f.token, http: &http.Client{Timeout: 30 * time.Second}}

	verb := args[0]
	if len(pos) > 0 && verb != "auth-token" {
		verb += " " + pos[0]
		pos = pos[1:]
	}
	need := func(n int, names string) error {
		if len(pos) != n {
			return fmt.Errorf("usage: gatehouse %s %s", verb, names)
		}
		return nil
	}
	esc := url.PathEscape
	var (
		out map[string]any
		raw []byte
	)
	switch verb {
	case "app create":
		if err = need(1, "NAME"); err == nil {
			out, raw, err = c.do(ctx, "POST", "/admin/v1/apps", map[string]string{"name": pos[0]}, nil)
		}
	case "app list":
		if err = need(0, ""); err == nil {
			out, raw, err = c.do(ctx, "GET", "/admin/v1/apps", nil, nil)
		}
	case "app get":
		if err = need(1, "APP_ID"); err == nil {
			out, raw, err = c.do(ctx, "GET", "/admin/v1/apps/"+esc(pos[0]), nil, nil)
		}
	case "app secure-mode":
		if err = need(2, "APP_ID on|off"); err == nil {
			if pos[1] != "on" && pos[1] != "off" {
				return fmt.Errorf("usage: gatehouse app secure-mode APP_ID on|off")
			}
			out, raw, err = c.do(ctx, "PATCH", "/admin/v1/apps/"+esc(pos[0]), map[string]bool{"secureMode": pos[1] == "on"}, nil)
		}
	case "app set":
		if err = need(1, "APP_ID [--access-token-ttl D] [--auth-token-ttl D] [--name NAME]"); err == nil {
			body := map[string]string{}
			for k, v := range map[string]string{"accessTokenTTL": f.accessTTL, "authTokenTTL": f.authTTL, "name": f.name} {
				if v != "" {
					body[k] = v
				}
			}
			if len(body) == 0 {
				return errors.New("app set: nothing to change (use --access-token-ttl, --auth-token-ttl or --name)")
			}
			out, raw, err = c.do(ctx, "PATCH", "/admin/v1/apps/"+esc(pos[0]), body, nil)
		}
	case "signing-key list":
		if err = need(0, ""); err == nil {
			out, raw, err = c.do(ctx, "GET", "/admin/v1/signing-keys", nil, nil)
		}
	case "signing-key rotate":
		if err = need(0, "[--emergency]"); err == nil {
			out, raw, err = c.do(ctx, "POST", "/admin/v1/signing-keys/rotate", map[string]bool{"emergency": f.emergency}, nil)
		}
	case "app access-token-key":
		if len(pos) == 0 {
			return errors.New("usage: gatehouse app access-token-key add|list|remove APP_ID [KEY_ID]")
		}
		sub, rest := pos[0], pos[1:]
		switch {
		case sub == "add" && len(rest) == 1:
			body := map[string]any{"alg": f.alg}
			switch {
			case f.secretFile != "":
				b, err := os.ReadFile(f.secretFile)
				if err != nil {
					return err
				}
				body["secret"] = strings.TrimRight(string(b), "\r\n")
			case f.pubFile != "":
				b, err := os.ReadFile(f.pubFile)
				if err != nil {
					return err
				}
				if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") {
					body["publicKey"] = json.RawMessage(t)
				} else {
					body["publicKey"] = t
				}
			case f.jwksURL != "":
				body["jwksUrl"] = f.jwksURL
			default:
				return errors.New("access-token-key add needs --secret-file, --public-key-file or --jwks-url")
			}
			out, raw, err = c.do(ctx, "POST", "/admin/v1/apps/"+esc(rest[0])+"/access-token-keys", body, nil)
		case sub == "list" && len(rest) == 1:
			out, raw, err = c.do(ctx, "GET", "/admin/v1/apps/"+esc(rest[0])+"/access-token-keys", nil, nil)
		case sub == "remove" && len(rest) == 2:
			out, raw, err = c.do(ctx, "DELETE", "/admin/v1/apps/"+esc(rest[0])+"/access-token-keys/"+esc(rest[1]), nil, nil)
		default:
			return errors.New("usage: gatehouse app access-token-key add APP_ID --alg ALG (--secret-file F | --public-key-file F | --jwks-url URL) | list APP_ID | remove APP_ID KEY_ID")
		}
	case "api-key create", "server-key create":
		if err = need(1, "APP_ID [--name NAME]"); err == nil {
			out, raw, err = c.do(ctx, "POST", "/admin/v1/apps/"+esc(pos[0])+"/"+args[0]+"s", map[string]string{"name": f.name}, nil)
		}
	case "api-key list", "server-key list":
		if err = need(1, "APP_ID"); err == nil {
			out, raw, err = c.do(ctx, "GET", "/admin/v1/apps/"+esc(pos[0])+"/"+args[0]+"s", nil, nil)
		}
	case "api-key revoke", "server-key revoke":
		if err = need(2, "APP_ID KEY_ID"); err == nil {
			out, raw, err = c.do(ctx, "DELETE", "/admin/v1/apps/"+esc(pos[0])+"/"+args[0]+"s/"+esc(pos[1]), nil, nil)
		}
	case "user get", "user ban", "user unban", "user delete":
		if err = need(2, "APP_ID USER_ID"); err == nil {
			p := "/admin/v1/apps/" + esc(pos[0]) + "/users/" + esc(pos[1])
			switch verb {
			case "user get":
				out, raw, err = c.do(ctx, "GET", p, nil, nil)
			case "user ban":
				out, raw, err = c.do(ctx, "POST", p+"/ban", nil, nil)
			case "user unban":
				out, raw, err = c.do(ctx, "POST", p+"/unban", nil, nil)
			case "user delete":
				out, raw, err = c.do(ctx, "DELETE", p, nil, nil)
			}
		}
	case "session list":
		if err = need(2, "APP_ID USER_ID"); err == nil {
			out, raw, err = c.do(ctx, "GET", "/admin/v1/apps/"+esc(pos[0])+"/users/"+esc(pos[1])+"/sessions", nil, nil)
		}
	case "session revoke":
		if err = need(2, "APP_ID SESSION_ID"); err == nil {
			out, raw, err = c.do(ctx, "DELETE", "/admin/v1/apps/"+esc(pos[0])+"/sessions/"+esc(pos[1]), nil, nil)
		}
	case "session revoke-all":
		if err = need(2, "APP_ID USER_ID"); err == nil {
			out, raw, err = c.do(ctx, "DELETE", "/admin/v1/apps/"+esc(pos[0])+"/users/"+esc(pos[1])+"/sessions", nil, nil)
		}
	case "auth-token":
		if err = need(1, "USER_ID --server-key KEY"); err == nil {
			if f.serverKey == "" {
				return errors.New("auth-token needs --server-key (or GATEHOUSE_SERVER_KEY)")
			}
			c.token = ""
			_, raw, err = c.do(ctx, "POST", "/api/v4/authentication/token", map[string]string{"userId": pos[0]}, http.Header{"X-Server-Key": {f.serverKey}})
			if err == nil {
				out = map[string]any{"authToken": string(raw)}
				raw, _ = json.Marshal(out)
			}
		}
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", verb)
	}
	if err != nil {
		return err
	}
	if f.json {
		if out == nil {
			out = map[string]any{}
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printHuman(stdout, verb, out)
	return nil
}

// tokenFromDataDir reads the admin token Gatehouse generated, so that on the
// server's own machine the CLI works without configuration.
func tokenFromDataDir(getenv func(string) string) string {
	dir := getenv("GATEHOUSE_DATA")
	if dir == "" {
		dir = "gatehouse-data"
	}
	b, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// printHuman prints a response as indented "key: value" lines.
func printHuman(w io.Writer, verb string, v any) {
	switch verb {
	case "app create":
		fmt.Fprintln(w, "App created. The API key is shown only once.")
	case "api-key create", "server-key create":
		fmt.Fprintln(w, "Key created. It is shown only once.")
	}
	printValue(w, "", v)
}

func printValue(w io.Writer, indent string, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch c := x[k].(type) {
			case map[string]any, []any:
				fmt.Fprintf(w, "%s%s:\n", indent, k)
				printValue(w, indent+"  ", c)
			default:
				fmt.Fprintf(w, "%s%s: %v\n", indent, k, c)
			}
		}
	case []any:
		if len(x) == 0 {
			fmt.Fprintf(w, "%s(none)\n", indent)
		}
		for i, e := range x {
			fmt.Fprintf(w, "%s- [%d]\n", indent, i)
			printValue(w, indent+"  ", e)
		}
	}
}
