// Command backend is an example customer backend for Gatehouse, built on
// package mint. It serves the two "give my signed-in user a token"
// endpoints of the social.plus login flows:
//
//	POST /auth-token    a secure-mode auth token (needs -server-key)
//	POST /access-token  an access token signed with -secret-file (HS256)
//
//	go run ./examples/backend -gatehouse http://127.0.0.1:8080 -app APP_ID \
//	    -server-key SERVER_KEY -secret-file secret -key-id vk_… [-addr 127.0.0.1:9000]
//
// Who is signed in is read from the X-Demo-User header. That stands in
// for the backend's real session check (a cookie, an OAuth token): never
// trust such a header in production.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/mint"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen `HOST:PORT`")
	gatehouseURL := flag.String("gatehouse", "http://127.0.0.1:8080", "Gatehouse `URL`")
	app := flag.String("app", "", "the app's `ID` (its networkId)")
	serverKey := flag.String("server-key", os.Getenv("GATEHOUSE_SERVER_KEY"), "server `KEY` for auth tokens")
	secretFile := flag.String("secret-file", "", "`FILE` with the HMAC secret registered for the app (HS256)")
	keyID := flag.String("key-id", "", "the registered key's `ID` (vk_…), sent as kid")
	lifetime := flag.Duration("lifetime", time.Hour, "access token lifetime")
	flag.Parse()
	if err := run(*addr, *gatehouseURL, *app, *serverKey, *secretFile, *keyID, *lifetime); err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
}

// demoWhoAmI trusts a header: a stand-in for a real session check.
func demoWhoAmI(r *http.Request) (string, bool) {
	u := strings.TrimSpace(r.Header.Get("X-Demo-User"))
	return u, u != ""
}

func run(addr, gatehouseURL, app, serverKey, secretFile, keyID string, lifetime time.Duration) error {
	mux := http.NewServeMux()
	if serverKey != "" {
		mux.Handle("/auth-token", mint.AuthTokenHandler(&mint.AuthTokenClient{Endpoint: gatehouseURL, ServerKey: serverKey}, demoWhoAmI))
	}
	if secretFile != "" {
		secret, err := os.ReadFile(secretFile)
		if err != nil {
			return err
		}
		if app == "" {
			return errors.New("-app is required with -secret-file")
		}
		s := &mint.Signer{NetworkID: app, Alg: "HS256", Key: []byte(strings.TrimRight(string(secret), "\r\n")), KeyID: keyID, Lifetime: lifetime}
		mux.Handle("/access-token", mint.AccessTokenHandler(s, demoWhoAmI))
	}
	if serverKey == "" && secretFile == "" {
		return errors.New("give -server-key (auth tokens) and/or -secret-file (access tokens)")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("backend listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
		return err
	}
	return nil
}
