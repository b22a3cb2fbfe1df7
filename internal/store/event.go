package store

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The event log carries, between the nodes that share one database, every
// change that affects token validation or live connections. A backend
// writes the event in the same transaction as the change, so it exists iff
// the change committed, and gives it an id greater than every event a
// reader could have seen before it commits (ids may skip numbers; a reader
// never has to wait for a smaller one). Each node applies events in id
// order from the last one it applied.
//
// What an event holds is what the change wrote; backends fill it from the
// rows they changed and decide nothing.

// EventKind names what an event changed.
type EventKind string

const (
	// EventApp: an app was created or its settings changed (App).
	EventApp EventKind = "app"
	// EventKey: an API or server key was created or revoked (Key).
	EventKey EventKind = "key"
	// EventUser: a user's restrictions changed — ban, unban, deletion,
	// revoke-all (User, its state before in WasBanned/WasDeleted, and the
	// sessions the change revoked).
	EventUser EventKind = "user"
	// EventSessions: sessions were revoked (Sessions).
	EventSessions EventKind = "sessions"
	// EventVerificationKey: a customer-token verification key was added
	// (VerificationKey) or removed (AppID, KeyID, Removed).
	EventVerificationKey EventKind = "verification_key"
	// EventToken: a customer token was revoked (Token).
	EventToken EventKind = "token"
	// EventSigningKeys: the signing-key ring changed (Emergency when the
	// old keys were dropped).
	EventSigningKeys EventKind = "signing_keys"
	// EventSecret: a server-wide secret was set (Name).
	EventSecret EventKind = "secret"
	// EventVisitorSecrets: an app's visitor secrets changed (AppID).
	EventVisitorSecrets EventKind = "visitor_secrets"
)

// Event is one entry of the log.
type Event struct {
	ID   int64     `json:"-"`
	At   time.Time `json:"-"` // when it was written (the writer's clock)
	Kind EventKind `json:"kind"`

	App             *gatehouse.App             `json:"app,omitempty"`
	Key             *gatehouse.Key             `json:"key,omitempty"`
	User            *gatehouse.User            `json:"user,omitempty"`
	WasBanned       bool                       `json:"wasBanned,omitempty"`
	WasDeleted      bool                       `json:"wasDeleted,omitempty"`
	Sessions        []gatehouse.Session        `json:"sessions,omitempty"`
	VerificationKey *gatehouse.VerificationKey `json:"verificationKey,omitempty"`
	AppID           string                     `json:"appId,omitempty"`
	KeyID           string                     `json:"keyId,omitempty"`
	Removed         bool                       `json:"removed,omitempty"`
	Token           *RevokedToken              `json:"token,omitempty"`
	Emergency       bool                       `json:"emergency,omitempty"`
	Name            string                     `json:"name,omitempty"`
}

// ErrPruned is returned by Events when events after the given id have been
// pruned: the reader cannot catch up from the log and must reload its
// state.
var ErrPruned = errors.New("events pruned")

// SessionsEvent returns the event for revoked sessions, keeping only what
// validation needs of each (not device details).
func SessionsEvent(list []gatehouse.Session) Event {
	return Event{Kind: EventSessions, Sessions: trimSessions(list)}
}

// UserEvent returns the event for a change of a user's restrictions.
func UserEvent(before, after gatehouse.User, revoked []gatehouse.Session) Event {
	return Event{Kind: EventUser, User: &after, WasBanned: before.Banned, WasDeleted: before.Deleted, Sessions: trimSessions(revoked)}
}

func trimSessions(list []gatehouse.Session) []gatehouse.Session {
	if len(list) == 0 {
		return nil
	}
	out := make([]gatehouse.Session, len(list))
	for i, x := range list {
		out[i] = gatehouse.Session{ID: x.ID, AppID: x.AppID, UserInternalID: x.UserInternalID, ExpiresAt: x.ExpiresAt, RevokedAt: x.RevokedAt}
	}
	return out
}

// EncodeEvent returns the stored form of an event's payload.
func EncodeEvent(e Event) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		// Every field is a plain value of this module: cannot fail.
		panic(err)
	}
	return b
}

// DecodeEvent fills an event's payload from its stored form.
func DecodeEvent(id int64, at time.Time, data []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return e, err
	}
	e.ID, e.At = id, at
	return e, nil
}
