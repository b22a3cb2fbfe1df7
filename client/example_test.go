package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// exampleServer starts an in-process Gatehouse with one app and returns its
// URL and API key. Real programs point the client at a running server.
func exampleServer() (url, apiKey string, stop func()) {
	s, stop := testenv.StartExample()
	return s.URL, s.APIKey, stop
}

func ExampleClient_Login() {
	url, apiKey, stop := exampleServer()
	defer stop()

	c, err := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	// The session handler renews the token ahead of expiry; in secure mode
	// it would fetch a fresh auth token from the app's backend and call
	// RenewWithAuthToken.
	renew := client.SessionHandlerFunc(func(r *client.Renewal) { r.Renew(context.Background()) })
	if err := c.Login(context.Background(), client.LoginParams{UserID: "alice", DisplayName: "Alice"}, renew); err != nil {
		fmt.Println("login failed:", err)
		return
	}
	fmt.Println(c.State(), c.UserID())
	// Output: established alice
}

func ExampleClient_Observe() {
	url, apiKey, stop := exampleServer()
	defer stop()
	c, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}})
	defer c.Close()

	changes := make(chan client.StateChange, 10)
	stopObserving := c.Observe(func(ev client.StateChange) { changes <- ev })
	defer stopObserving()

	c.Login(context.Background(), client.LoginParams{UserID: "bob"}, nil)
	c.Logout(context.Background())
	for range 3 {
		ev := <-changes
		fmt.Printf("%s -> %s\n", ev.From, ev.To)
	}
	// Output:
	// notLoggedIn -> establishing
	// establishing -> established
	// established -> notLoggedIn
}

func ExampleClient_SecureLogout() {
	url, apiKey, stop := exampleServer()
	defer stop()
	c, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}})
	defer c.Close()
	c.Login(context.Background(), client.LoginParams{UserID: "carol"}, nil)

	// The token is revoked on the server first; if that fails the client
	// stays logged in and the error says why.
	if err := c.SecureLogout(context.Background()); err != nil {
		fmt.Println("still logged in:", err)
		return
	}
	fmt.Println(c.State())
	// Output: notLoggedIn
}

func ExampleClient_LoginWithAccessToken() {
	url, apiKey, stop := exampleServer()
	defer stop()
	c, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}})
	defer c.Close()

	// The customer's backend signs access tokens; the handler fetches a
	// new one when renewal is due. Here a Gatehouse login stands in for it.
	backend := func(ctx context.Context, userID string) (string, error) {
		b, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}, CheckInterval: -1})
		defer b.Close()
		if err := b.Login(ctx, client.LoginParams{UserID: userID}, nil); err != nil {
			return "", err
		}
		t, _ := b.Token()
		return t.AccessToken, nil
	}
	tok, _ := backend(context.Background(), "dana")

	if err := c.LoginWithAccessToken(context.Background(), tok); err != nil {
		fmt.Println(err) // no handler yet: refused before any network call
	}
	c.SetAccessTokenHandler(client.AccessTokenHandlerFunc(backend))
	if err := c.LoginWithAccessToken(context.Background(), tok); err != nil {
		panic(err)
	}
	fmt.Println(c.State(), c.UserID())
	// Output:
	// client: set an access-token handler before logging in with an access token
	// established dana
}

func ExampleClient_Restore() {
	url, apiKey, stop := exampleServer()
	defer stop()
	store := &client.MemoryStore{} // client.NewFileStore(path, key) on disk, encrypted

	first, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}, Store: store})
	first.Login(context.Background(), client.LoginParams{UserID: "eve"}, nil)
	first.Close()

	// Later, a new process: the saved session is checked with the server.
	later, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}, Store: store})
	defer later.Close()
	ok, err := later.Restore(context.Background(), nil)
	fmt.Println(ok, err, later.State(), later.UserID())
	// Output: true <nil> established eve
}

func ExampleRenewal() {
	url, apiKey, stop := exampleServer()
	defer stop()
	now := time.Now()
	clock := func() time.Time { return now }
	c, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: url}, Now: clock, CheckInterval: -1})
	defer c.Close()

	c.Login(context.Background(), client.LoginParams{UserID: "finn"}, client.SessionHandlerFunc(func(r *client.Renewal) {
		fmt.Println("renewal asked")
		// No auth token at hand right now: ask again after Config.RetryDelay.
		r.UnableToRetrieveAuthToken()
	}))
	now = now.Add(25 * 24 * time.Hour) // 30-day token: past 80% of its lifetime
	c.CheckExpiry(context.Background())
	c.CheckExpiry(context.Background()) // within the retry delay: not asked again
	fmt.Println(c.State() == gatehouse.Established)
	// Output:
	// renewal asked
	// true
}

func ExampleClient_LoginAsVisitor() {
	s, stop := testenv.StartExample()
	defer stop()
	// The operator turned visitors on (gatehouse app set APP --visitors on).
	on := gatehouse.VisitorsOn
	s.Svc.UpdateApp(context.Background(), s.App.ID, session.AppUpdate{Visitors: &on})

	c, err := client.New(client.Config{APIKey: s.APIKey, Endpoint: client.Endpoint{HTTP: s.URL}, DeviceID: "kiosk-7"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	// In secure visitor mode, VisitorParams carries the signature the app's
	// backend made for c.DeviceID() (mint.VisitorSignature), and the session
	// handler renews with RenewWithAuthSignature.
	if err := c.LoginAsVisitor(context.Background(), client.VisitorParams{}, nil); err != nil {
		fmt.Println("login failed:", err)
		return
	}
	fmt.Println(c.State(), c.UserType(), c.UserID())
	// Output: established visitor visitor-d0be85fe968bc0ccbfa1a736f0193992
}
