package realtime

// OwnedClientIDs is how many client ids users hold, for tests.
func OwnedClientIDs(b *Broker) int { return b.hook.owned() }
