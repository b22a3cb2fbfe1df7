// Command sessionstates logs a user in with the Gatehouse Go SDK and prints
// one line per session state change, "state=<name>" (with "reason=<r>" for
// terminated). It exits when the state becomes terminated or notLoggedIn,
// or on Ctrl-C, after logging out.
//
//	go run ./examples/sessionstates -endpoint URL -api-key KEY -user ID [-auth-token T] [-display NAME]
//
// With -realtime (the default) it keeps the MQTT connection the social.plus
// SDKs keep, so a ban or deletion (gatehouse user ban|delete) ends the
// session at once; it also checks its token every -poll, so a revocation
// (gatehouse session revoke-all) shows up as state=terminated.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/client/live"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:8080", "Gatehouse (or social.plus-compatible) `URL`")
	apiKey := flag.String("api-key", os.Getenv("GATEHOUSE_API_KEY"), "the app's API `KEY`")
	user := flag.String("user", "", "user `ID` to log in")
	authToken := flag.String("auth-token", "", "secure-mode auth `TOKEN`")
	display := flag.String("display", "", "display `NAME`")
	poll := flag.Duration("poll", 5*time.Second, "how often to check the token with the server")
	rt := flag.Bool("realtime", true, "keep the realtime (MQTT over WebSocket) connection")
	flag.Parse()
	if *apiKey == "" || *user == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *endpoint, *apiKey, *user, *authToken, *display, *poll, *rt); err != nil {
		fmt.Fprintln(os.Stderr, "sessionstates:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint, apiKey, user, authToken, display string, poll time.Duration, rt bool) error {
	cfg := client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: endpoint}}
	if rt {
		// Gatehouse serves MQTT on its HTTP port, at /mqtt.
		cfg.Endpoint.MQTT = strings.Replace(strings.Replace(strings.TrimRight(endpoint, "/"), "https://", "wss://", 1), "http://", "ws://", 1) + "/mqtt"
		cfg.Realtime = live.New(live.Options{})
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	done := make(chan struct{})
	c.Observe(func(ev client.StateChange) {
		if ev.To == gatehouse.Terminated {
			fmt.Printf("state=%s reason=%s\n", ev.To, ev.Reason)
		} else {
			fmt.Printf("state=%s\n", ev.To)
		}
		if ev.To == gatehouse.Terminated || ev.To == gatehouse.NotLoggedIn {
			close(done)
		}
	})

	// Renewal: without a backend to ask for auth tokens, renew plainly
	// (secure mode off) or decline.
	renew := client.SessionHandlerFunc(func(r *client.Renewal) {
		if authToken == "" {
			r.Renew(context.Background())
			return
		}
		r.UnableToRetrieveAuthToken()
	})
	if err := c.Login(ctx, client.LoginParams{UserID: user, DisplayName: display, AuthToken: authToken}, renew); err != nil {
		<-done
		return err
	}

	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			// Ctrl-C: revoke the token on the server, then stop.
			lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.SecureLogout(lctx); err != nil {
				fmt.Fprintln(os.Stderr, "secure logout failed, logging out locally:", err)
				c.Logout(lctx)
			}
			<-done
			return nil
		case <-t.C:
			c.Validate(ctx) // a refusal moves the state; nothing else to do
		}
	}
}
