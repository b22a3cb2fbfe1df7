package mint_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/mint"
)

func ExampleAuthTokenClient() {
	g := startGatehouse(nil)
	defer g.stop()

	// On the backend, for a user it has verified:
	tokens := &mint.AuthTokenClient{Endpoint: g.URL, ServerKey: g.ServerKey}
	authToken, err := tokens.AuthToken(context.Background(), "alice")
	if err != nil {
		fmt.Println("no auth token:", err)
		return
	}
	// The app passes it to login (LoginParams.AuthToken in the Go SDK).
	fmt.Println(len(authToken))
	// Output: 42
}

func ExampleSigner() {
	g := startGatehouse(nil)
	defer g.stop()
	// The operator registered this secret for the app:
	//   gatehouse app access-token-key add APP_ID --alg HS256 --secret-file secret
	secret := []byte("c7e2a91f03b65d48e1f79a2c06b3d58f4a1e96c27d30b85f62e9a14c7f0d3b68")
	key, _ := g.svc.AddVerificationKey(context.Background(), g.AppID, session.VerificationKeyInput{Alg: "HS256", Secret: secret})

	signer := &mint.Signer{NetworkID: g.AppID, Alg: "HS256", Key: secret, KeyID: key.ID}
	accessToken, _, err := signer.Sign("alice")
	if err != nil {
		panic(err)
	}
	// The app logs in with it (LoginWithAccessToken in the Go SDK).
	req, _ := http.NewRequest("GET", g.URL+"/api/v3/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, _ := http.DefaultClient.Do(req)
	fmt.Println(resp.StatusCode)
	// Output: 200
}

func ExampleAccessTokenHandler() {
	g := startGatehouse(nil)
	defer g.stop()
	secret := []byte("c7e2a91f03b65d48e1f79a2c06b3d58f4a1e96c27d30b85f62e9a14c7f0d3b68")
	key, _ := g.svc.AddVerificationKey(context.Background(), g.AppID, session.VerificationKeyInput{Alg: "HS256", Secret: secret})

	// whoAmI is the backend's own session check; here a header stands in.
	whoAmI := func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-Signed-In-User")
		return u, u != ""
	}
	mux := http.NewServeMux()
	mux.Handle("/social/token", mint.AccessTokenHandler(&mint.Signer{NetworkID: g.AppID, Alg: "HS256", Key: secret, KeyID: key.ID}, whoAmI))
	backend := httptest.NewServer(mux)
	defer backend.Close()

	anonymous, _ := http.Get(backend.URL + "/social/token")
	req, _ := http.NewRequest("GET", backend.URL+"/social/token", nil)
	req.Header.Set("X-Signed-In-User", "alice")
	signedIn, _ := http.DefaultClient.Do(req)
	fmt.Println(anonymous.StatusCode, signedIn.StatusCode)
	// Output: 401 200
}

// A backend lets a device in as a visitor of an app in secure visitor mode:
// it signs the device id the app sent with a visitor secret, for ten
// minutes, and returns both values to the app.
func ExampleVisitorSignature() {
	secret := "7f3c0d2e9a814b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" // gatehouse app visitor-secret create
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	sig, exp, err := mint.VisitorSignature(secret, "ascWebSdk#3f0c7c1e", at.Add(10*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(exp)
	fmt.Println(len(sig))
	// Output:
	// 2026-05-01T10:10:00.000Z
	// 64
}
