package mint_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

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
