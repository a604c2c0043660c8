package app

import (
	"context"
	"sync"
	"time"

	"github.com/scalelab/scalelab/data"
)

// DefaultSessionTTL is how long a session lives in MemorySessions when its
// TTL is zero: the same seven days as the database's and memcached's.
const DefaultSessionTTL = 7 * 24 * time.Hour

// MemorySessions keeps sessions in the process's memory: fast, and right
// for one process. Behind a load balancer it breaks: a user who logged in
// on one instance is unknown to the others, so they look logged out
// whenever the next request lands elsewhere. Stage 3's --sessions memory
// shows exactly that. Sessions are lost when the process ends.
//
// A session expires TTL after it was created, as in the other stores; the
// expired ones are swept out as new ones are created, so that a process
// under a load of logins does not keep every session it ever made.
type MemorySessions struct {
	// TTL of a session; zero means DefaultSessionTTL.
	TTL time.Duration

	mu        sync.Mutex // guards m and nextSweep
	m         map[string]memorySession
	nextSweep time.Time
}

type memorySession struct {
	user    data.User
	expires time.Time
}

func (s *MemorySessions) Create(_ context.Context, id string, u data.User) error {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]memorySession{}
	}
	// Sweeping costs a pass over the map, so it runs at most once per
	// tenth of a TTL (and per minute at most): the map holds at most about
	// 1.1 TTLs' worth of logins.
	if now.After(s.nextSweep) {
		for k, v := range s.m {
			if now.After(v.expires) {
				delete(s.m, k)
			}
		}
		s.nextSweep = now.Add(min(ttl/10, time.Minute))
	}
	s.m[id] = memorySession{data.User{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName}, now.Add(ttl)}
	return nil
}

func (s *MemorySessions) Get(_ context.Context, id string) (data.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok || time.Now().After(v.expires) {
		return data.User{}, data.ErrNotFound
	}
	return v.user, nil
}

func (s *MemorySessions) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
