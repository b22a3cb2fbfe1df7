package gatehouse

import "fmt"

// SessionState is the client-side state of a session, as in the social.plus
// SDKs.
type SessionState string

// The client session states.
const (
	NotLoggedIn  SessionState = "notLoggedIn"
	Establishing SessionState = "establishing"
	Established  SessionState = "established"
	TokenExpired SessionState = "tokenExpired"
	Terminated   SessionState = "terminated"
)

// TerminationReason says why a session moved to Terminated.
type TerminationReason string

// Termination reasons, as the social.plus SDKs report them.
const (
	ReasonGlobalBan    TerminationReason = "globalBan"
	ReasonUserDeleted  TerminationReason = "userDeleted"
	ReasonUnauthorized TerminationReason = "unauthorized"
)

// transitions lists every allowed transition (wire spec §14).
var transitions = map[SessionState][]SessionState{
	NotLoggedIn:  {Establishing},
	Terminated:   {Establishing},
	Establishing: {NotLoggedIn, Established},
	Established:  {NotLoggedIn, Terminated, TokenExpired, Establishing},
	TokenExpired: {Establishing},
}

// CanTransition reports whether a session may move from one state to another.
func CanTransition(from, to SessionState) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Transition returns to if the move from -> to is allowed, and an error
// otherwise. It is the only way the Go SDK changes state.
func Transition(from, to SessionState) (SessionState, error) {
	if !CanTransition(from, to) {
		return from, fmt.Errorf("session state cannot change from %s to %s", from, to)
	}
	return to, nil
}

// States lists the five states.
func States() []SessionState {
	return []SessionState{NotLoggedIn, Establishing, Established, TokenExpired, Terminated}
}
