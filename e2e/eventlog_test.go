package e2e

import (
	"encoding/json"
	"testing"
)

// login logs a user in on a device through s and returns the access token.
func (s *server) login(apiKey, userID, deviceID string) string {
	s.t.Helper()
	st, body := s.call("POST", "/api/v5/sessions", toJSON(map[string]any{"userId": userID, "deviceId": deviceID}), "X-API-Key", apiKey)
	var r struct {
		AccessToken string
		Users       []struct {
			ID string `json:"_id"`
		}
	}
	if st != 200 || json.Unmarshal(body, &r) != nil || r.AccessToken == "" {
		s.t.Fatalf("login %s on %s through %s: %d %s", userID, deviceID, s.URL, st, body)
	}
	return r.AccessToken
}

// validate returns the status of GET /api/v3/sessions with tok, and the
// body.
func (s *server) validate(tok string) (int, []byte) {
	s.t.Helper()
	return s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+tok)
}

// TestEventLogReadYourWrites: on one node, a change made through the HTTP
// API is in force on the very next request — the event log never makes a
// node wait for its own writes — and /readyz reports the node current.
func TestEventLogReadYourWrites(t *testing.T) {
	s := startServer(t)
	app := s.cliJSON("app", "create", "log")
	appID, apiKey := app["appId"].(string), app["apiKey"].(string)
	waitReady(t, s, "at start")
	for i := range 20 {
		tok := s.login(apiKey, "alice", "d1")
		other := s.login(apiKey, "alice", "d2")
		if st, body := s.call("DELETE", "/api/v4/sessions", "", "Authorization", "Bearer "+tok); st != 200 {
			t.Fatalf("logout: %d %s", st, body)
		}
		st, body := s.validate(tok)
		wantErrorBody(t, st, body, 401, 400100)
		if st, body := s.validate(other); st != 200 {
			t.Fatalf("round %d: the other device's token after a logout: %d %s", i, st, body)
		}
	}
	tok := s.login(apiKey, "bob", "d3")
	s.cliJSON("user", "ban", appID, "bob")
	st, body := s.validate(tok)
	wantErrorBody(t, st, body, 403, 400312)
}
