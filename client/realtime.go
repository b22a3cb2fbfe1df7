package client

import (
	"context"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// Realtime keeps a live connection for an established session, through
// which the server tells the client that its user was banned or deleted.
// Package client/live implements it over MQTT; set it in Config.Realtime.
type Realtime interface {
	// Start connects for s and calls terminate when an event ends the
	// session. The client calls the returned stop when the session ends or
	// the client closes. Start must not block on the network.
	Start(ctx context.Context, s RealtimeSession, terminate func(gatehouse.TerminationReason)) (stop func())
}

// RealtimeSession is what a live connection needs.
type RealtimeSession struct {
	URL        string // the MQTT endpoint (Config.Endpoint.MQTT)
	NetworkID  string
	UserID     string // public id
	InternalID string // _id: the MQTT username
	Path       string // the user's topic
	DeviceID   string
	// Token returns the current access token: the MQTT password, read again
	// at every reconnect so a renewed token is used.
	Token func() string
}

// startRealtimeLocked starts the live connection of the session, if one is
// configured. c.mu must be held.
func (c *Client) startRealtimeLocked() {
	// Visitors and bots have no realtime access (the server refuses them,
	// and the social.plus SDKs do not connect them).
	if c.cfg.Realtime == nil || c.sess == nil || c.closed || c.sess.readOnly() {
		return
	}
	c.stopRealtimeLocked()
	s := c.sess
	net := wire.NetworkOfPath(s.path)
	sessGen := c.sessGen
	rs := RealtimeSession{URL: c.cfg.Endpoint.MQTT, NetworkID: net, UserID: s.userID, InternalID: s.internalID, Path: s.path,
		DeviceID: c.deviceIDLocked(), Token: func() string {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.sess == nil {
				return ""
			}
			return c.sess.accessToken
		}}
	c.rtStop = c.cfg.Realtime.Start(c.ctx, rs, func(reason gatehouse.TerminationReason) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.sessGen == sessGen && c.state == gatehouse.Established {
			c.terminateLocked(reason)
		}
	})
}

func (c *Client) stopRealtimeLocked() {
	if c.rtStop != nil {
		stop := c.rtStop
		c.rtStop = nil
		go stop() // never block the client on the network
	}
}
