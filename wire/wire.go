// Package wire defines the JSON shapes of the social.plus-compatible HTTP API
// and of the realtime payloads. It is the contract between the Gatehouse
// server and its SDKs; field names follow the social.plus wire protocol
// exactly.
package wire

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// TimeLayout is the timestamp format on the wire: UTC with exactly three
// fractional digits. The SDKs call Date.parse on it.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time formats t for the wire.
func Time(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Error is the error envelope: {"status":"error","code":400100,"message":"…"}.
type Error struct {
	Status  string `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// NewError returns the envelope for err.
func NewError(err error) Error {
	return Error{Status: "error", Code: gatehouse.ErrorCode(err).Wire(), Message: gatehouse.ErrorMessage(err)}
}

// AsError turns an envelope back into a *gatehouse.Error.
func (e Error) AsError() *gatehouse.Error {
	return &gatehouse.Error{Code: gatehouse.CodeFromWire(e.Code), Message: e.Message}
}

// LoginRequest is the body of POST /api/v{3,4,5}/sessions. Unknown fields are
// ignored.
type LoginRequest struct {
	UserID        string               `json:"userId"`
	DeviceID      string               `json:"deviceId"`
	DeviceInfo    gatehouse.DeviceInfo `json:"deviceInfo"`
	DisplayName   *string              `json:"displayName,omitempty"`
	ProfileHandle *string              `json:"profileHandle,omitempty"`
	AuthToken     string               `json:"authToken,omitempty"`
}

// VisitorLoginRequest is the body of POST /api/v5/sessions/visitor and
// /api/v5/sessions/bot. The React Native SDK spreads its whole parameter
// object into it, so unknown fields (sessionHandler) are ignored.
type VisitorLoginRequest struct {
	DeviceID   string               `json:"deviceId"`
	DeviceInfo gatehouse.DeviceInfo `json:"deviceInfo"`
	// Secure visitor mode: lowercase hex HMAC-SHA256 over
	// "deviceId=<deviceId>&authSignatureExpiresAt=<authSignatureExpiresAt>".
	AuthSignature          string `json:"authSignature,omitempty"`
	AuthSignatureExpiresAt string `json:"authSignatureExpiresAt,omitempty"`
}

// User is the raw user object (wire spec §4.1). Both ban flags are always
// sent: the SDKs read different ones.
type User struct {
	InternalID     string          `json:"_id"`
	Path           string          `json:"path"`
	UserID         string          `json:"userId"`
	UserInternalID string          `json:"userInternalId"`
	UserPublicID   string          `json:"userPublicId"`
	DisplayName    string          `json:"displayName"`
	Description    string          `json:"description"`
	Roles          []string        `json:"roles"`
	Permissions    []string        `json:"permissions"`
	Metadata       json.RawMessage `json:"metadata"`
	FlagCount      int             `json:"flagCount"`
	HashFlag       *struct{}       `json:"hashFlag"`
	IsBrand        bool            `json:"isBrand"`
	IsGlobalBan    bool            `json:"isGlobalBan"`
	IsGlobalBanned bool            `json:"isGlobalBanned"`
	IsDeleted      bool            `json:"isDeleted"`
	DeletedAt      string          `json:"deletedAt,omitempty"`
	CreatedAt      string          `json:"createdAt"`
	UpdatedAt      string          `json:"updatedAt"`
}

// userSegment separates the network id from the user's internal id in a
// user path; it is also the user's own MQTT topic.
const userSegment = "/user/"

// UserPath is the user's path: "<networkId>/user/<_id>". The SDKs derive the
// network id and MQTT topics from it; it is also the user's own MQTT topic,
// on which the server sends EventUserBanned.
func UserPath(networkID, internalID string) string {
	return networkID + userSegment + internalID
}

// NetworkOfPath returns the network id of a user path (the whole path when
// it is not one).
func NetworkOfPath(path string) string {
	if i := strings.Index(path, userSegment); i >= 0 {
		return path[:i]
	}
	return path
}

// Realtime event types (wire spec §13.3).
const (
	// EventUserBanned is sent on the user's own topic (UserPath) only:
	// the SDKs act on it without checking whose ban it is.
	EventUserBanned = "user.didGlobalBan"
	// EventUserDeleted is sent on the network topic; the SDKs act on it
	// only when it names their own user.
	EventUserDeleted = "user.deleted"
)

// Event is a realtime event payload (wire spec §13.3):
// {"eventType": …, "data": {users, files}}.
type Event struct {
	EventType string `json:"eventType"`
	Data      Users  `json:"data"`
}

// NewUserEvent returns the event of type eventType about one user.
func NewUserEvent(eventType string, u User) Event {
	return Event{EventType: eventType, Data: Users{Users: []User{u}, Files: []File{}}}
}

var emptyObject = json.RawMessage("{}")

// NewUser converts a domain user for the wire.
func NewUser(u *gatehouse.User) User {
	w := User{
		InternalID:     u.ID,
		Path:           UserPath(u.AppID, u.ID),
		UserID:         u.UserID,
		UserInternalID: u.ID,
		UserPublicID:   u.UserID,
		DisplayName:    u.DisplayName,
		Roles:          []string{},
		Permissions:    []string{},
		Metadata:       emptyObject,
		IsGlobalBan:    u.Banned,
		IsGlobalBanned: u.Banned,
		IsDeleted:      u.Deleted,
		CreatedAt:      Time(u.CreatedAt),
		UpdatedAt:      Time(u.UpdatedAt),
	}
	if u.Deleted && !u.DeletedAt.IsZero() {
		w.DeletedAt = Time(u.DeletedAt)
	}
	return w
}

// Session is the login response (wire spec §5.4). RefreshToken is present
// only in v3/v4 responses and UserType only in v5.
type Session struct {
	AccessToken    string   `json:"accessToken"`
	RefreshToken   *string  `json:"refreshToken,omitempty"`
	IssuedAt       string   `json:"issuedAt"`
	ExpiresAt      string   `json:"expiresAt"`
	Users          []User   `json:"users"`
	Roles          []string `json:"roles"`
	Files          []File   `json:"files"`
	LastCachePurge string   `json:"lastCachePurge,omitempty"`
	UserType       string   `json:"userType,omitempty"`
}

// File is a file object; Gatehouse stores no files, so lists are empty.
type File struct {
	FileID string `json:"fileId"`
}

// Users is the body of GET /api/v3/users/{userId}.
type Users struct {
	Users []User `json:"users"`
	Files []File `json:"files"`
}

// TokenInfo is the body of GET /api/v3/sessions: the validity of the
// presented token. The SDKs only look at the status.
type TokenInfo struct {
	UserID    string `json:"userId"`
	IssuedAt  string `json:"issuedAt"`
	ExpiresAt string `json:"expiresAt"`
	UserType  string `json:"userType"`
}

// Success is {"success": true}.
type Success struct {
	Success bool `json:"success"`
}

// ChatSettings is the body of GET /api/v3/network-settings/chat. The SDKs
// dereference messagePreview without checks, so it is always present.
type ChatSettings struct {
	Enabled                                bool           `json:"enabled"`
	Mention                                MentionSetting `json:"mention"`
	MessagePreview                         PreviewSetting `json:"messagePreview"`
	IsAllowAdminViewConversationMessage    bool           `json:"isAllowAdminViewConversationMessage"`
	IsAllowAdminManageConversationMessage  bool           `json:"isAllowAdminManageConversationMessage"`
	AllowMemberToUpdateConversationChannel bool           `json:"allowMemberToUpdateConversationChannel"`
	Marker                                 MarkerSetting  `json:"marker"`
}

// MentionSetting is part of ChatSettings.
type MentionSetting struct {
	IsAllowMentionedChannelEnabled bool `json:"isAllowMentionedChannelEnabled"`
}

// PreviewSetting is part of ChatSettings.
type PreviewSetting struct {
	Enabled          bool `json:"enabled"`
	IsIncludeDeleted bool `json:"isIncludeDeleted"`
}

// MarkerSetting is part of ChatSettings.
type MarkerSetting struct {
	Enabled bool `json:"enabled"`
}

// DefaultChatSettings keeps an auth-only deployment out of the message
// preview and marker endpoints it does not serve.
func DefaultChatSettings() ChatSettings {
	return ChatSettings{Enabled: true}
}

// AuthTokenRequest is the body of POST /api/v4/authentication/token.
type AuthTokenRequest struct {
	UserID string `json:"userId"`
}
