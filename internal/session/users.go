package session

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// Revocations counted by reason (metrics.Revocations).
var (
	revokedLogout   = metrics.Revocations.WithLabelValues("logout")
	revokedAdmin    = metrics.Revocations.WithLabelValues("admin")
	revokedAll      = metrics.Revocations.WithLabelValues("revoke_all")
	revokedBan      = metrics.Revocations.WithLabelValues("ban")
	revokedDelete   = metrics.Revocations.WithLabelValues("delete")
	revokedReplaced = metrics.Revocations.WithLabelValues("device_replaced")
)

// User returns a user by public id.
func (s *Service) User(ctx context.Context, appID, userID string) (gatehouse.User, error) {
	if err := gatehouse.ValidateUserID(userID); err != nil {
		return gatehouse.User{}, gatehouse.Errorf(gatehouse.NotFound, "User not found")
	}
	u, err := s.store.GetUser(ctx, appID, userID)
	if err != nil {
		return u, storeErr(err, "User")
	}
	return u, nil
}

// Ban bans a user globally: every session is revoked in the same
// transaction, the user's tokens are refused with Banned at once, and new
// logins are refused until Unban. Banning a banned user is not an error.
func (s *Service) Ban(ctx context.Context, appID, userID string) (gatehouse.User, error) {
	now := s.now().UTC()
	u, revoked, err := s.store.UpdateUser(ctx, appID, userID, func(u *gatehouse.User) error {
		if u.Deleted {
			return gatehouse.Errorf(gatehouse.NotFound, "User not found")
		}
		u.Banned, u.UpdatedAt, u.TokensValidAfter = true, now, now
		return nil
	}, true)
	if err != nil {
		return u, storeErr(err, "User")
	}
	s.restrict(u, revoked)
	metrics.Bans.Inc()
	revokedBan.Add(float64(len(revoked)))
	s.settle(ctx) // publishes the ban to this node's connections
	s.log.Info("user banned", "app_id", appID, "user_internal_id", u.ID, "sessions_revoked", len(revoked))
	return u, nil
}

// Unban lifts a ban. Tokens issued before the ban stay revoked; the user
// must log in again.
func (s *Service) Unban(ctx context.Context, appID, userID string) (gatehouse.User, error) {
	now := s.now().UTC()
	u, _, err := s.store.UpdateUser(ctx, appID, userID, func(u *gatehouse.User) error {
		if u.Deleted {
			return gatehouse.Errorf(gatehouse.NotFound, "User not found")
		}
		u.Banned, u.UpdatedAt = false, now
		return nil
	}, false)
	if err != nil {
		return u, storeErr(err, "User")
	}
	s.restrict(u, nil)
	s.settle(ctx)
	s.log.Info("user unbanned", "app_id", appID, "user_internal_id", u.ID)
	return u, nil
}

// Delete deletes a user: the record stays (marked deleted, display name
// "Deleted User") so that the public id can never log in again and old
// tokens can never come back; every session is revoked.
func (s *Service) Delete(ctx context.Context, appID, userID string) (gatehouse.User, error) {
	now := s.now().UTC()
	u, revoked, err := s.store.UpdateUser(ctx, appID, userID, func(u *gatehouse.User) error {
		if !u.Deleted {
			u.Deleted, u.DeletedAt, u.DisplayName = true, now, gatehouse.DeletedDisplayName
		}
		u.UpdatedAt, u.TokensValidAfter = now, now
		return nil
	}, true)
	if err != nil {
		return u, storeErr(err, "User")
	}
	s.restrict(u, revoked)
	metrics.Deletions.Inc()
	revokedDelete.Add(float64(len(revoked)))
	s.settle(ctx) // publishes the deletion
	s.log.Info("user deleted", "app_id", appID, "user_internal_id", u.ID, "sessions_revoked", len(revoked))
	return u, nil
}

func (s *Service) restrict(u gatehouse.User, revoked []gatehouse.Session) {
	s.mu.Lock()
	s.rev.setUser(u)
	s.rev.revokeSessions(revoked)
	if s.userSnaps.Get(u.ID) != nil {
		s.internApp(&u)
		s.userSnaps.Put(u.ID, &u)
	}
	s.mu.Unlock()
}

// Sessions lists a user's sessions: live ones and those ended in the last
// SessionRetention.
func (s *Service) Sessions(ctx context.Context, appID, userID string) (gatehouse.User, []gatehouse.Session, error) {
	u, err := s.User(ctx, appID, userID)
	if err != nil {
		return u, nil, err
	}
	list, err := s.store.ListSessions(ctx, appID, u.ID, s.now().Add(-SessionRetention))
	return u, list, storeErr(err, "session")
}

// RevokeSession revokes one session of an app.
func (s *Service) RevokeSession(ctx context.Context, appID, sessionID string) (gatehouse.Session, error) {
	sess, err := s.store.RevokeSession(ctx, appID, sessionID, s.now().UTC())
	if err != nil {
		return sess, storeErr(err, "Session")
	}
	s.markRevoked(sess)
	revokedAdmin.Inc()
	s.settle(ctx) // closes the session's connections
	s.log.Info("session revoked by admin", "app_id", appID, "session_id", sessionID)
	return sess, nil
}

// RevokeAll revokes every session of a user, and every customer token
// issued until now.
func (s *Service) RevokeAll(ctx context.Context, appID, userID string) ([]gatehouse.Session, error) {
	if err := gatehouse.ValidateUserID(userID); err != nil {
		return nil, gatehouse.Errorf(gatehouse.NotFound, "User not found")
	}
	now := s.now().UTC()
	u, list, err := s.store.UpdateUser(ctx, appID, userID, func(u *gatehouse.User) error {
		u.TokensValidAfter, u.UpdatedAt = now, now
		return nil
	}, true)
	if err != nil {
		return nil, storeErr(err, "User")
	}
	s.restrict(u, list)
	revokedAll.Add(float64(len(list)))
	s.settle(ctx) // closes the sessions' connections
	s.log.Info("all sessions of a user revoked", "app_id", appID, "user_internal_id", u.ID, "sessions_revoked", len(list))
	return list, nil
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.now() }
