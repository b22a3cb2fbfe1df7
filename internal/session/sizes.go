package session

// CacheSizes reports the entries of the service's in-memory state, by name,
// for the gatehouse_cache_entries gauge: the login fast path's caches, the
// revocation and restriction sets, and the customer-token caches.
func (s *Service) CacheSizes() map[string]float64 {
	ctokens, _ := s.cverify.cacheStats()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]float64{
		"apps":                    float64(len(s.apps)),
		"api_and_server_keys":     float64(len(s.keys)),
		"revoked_sessions":        float64(len(s.rev.sessions)),
		"restricted_users":        float64(len(s.rev.users)),
		"revoked_customer_tokens": float64(len(s.rev.tokens)),
		"login_devices":           float64(s.devices.Len()),
		"login_users":             float64(s.userSnaps.Len()),
		"customer_users":          float64(s.custUsers.Len()),
		"customer_tokens":         float64(ctokens),
		"visitor_secret_apps":     float64(len(s.vsecrets)),
	}
}

// CacheBytes reports the bytes each bounded cache counts, for the
// gatehouse_cache_bytes gauge; together they stay within Config.CacheBytes.
func (s *Service) CacheBytes() map[string]float64 {
	_, ctokenBytes := s.cverify.cacheStats()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]float64{
		"verified_tokens": float64(s.verifier.Cache.Bytes()),
		"login_devices":   float64(s.devices.Bytes()),
		"login_users":     float64(s.userSnaps.Bytes()),
		"customer_users":  float64(s.custUsers.Bytes()),
		"customer_tokens": float64(ctokenBytes),
	}
}
