package app

import "time"

// Exported for the fuzz tests of package app_test.
var (
	ValidSessionID = validSessionID
	LocalPath      = localPath
)

// ExpireSession moves a memory session's expiry time into the past, as
// the passing of its TTL does, without the test waiting for it.
func ExpireSession(s *MemorySessions, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[id]; ok {
		v.expires = time.Now().Add(-time.Nanosecond)
		s.m[id] = v
	}
}
