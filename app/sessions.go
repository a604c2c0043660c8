package app

import (
	"context"
	"sync"

	"github.com/scalelab/scalelab/data"
)

// MemorySessions keeps sessions in the process's memory: fast, and right
// for one process. Behind a load balancer it breaks: a user who logged in
// on one instance is unknown to the others, so they look logged out
// whenever the next request lands elsewhere. Stage 3's --sessions memory
// shows exactly that. Sessions are lost when the process ends.
type MemorySessions struct {
	mu sync.RWMutex // guards m
	m  map[string]data.User
}

func (s *MemorySessions) Create(_ context.Context, id string, u data.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]data.User{}
	}
	s.m[id] = data.User{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName}
	return nil
}

func (s *MemorySessions) Get(_ context.Context, id string) (data.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.m[id]
	if !ok {
		return u, data.ErrNotFound
	}
	return u, nil
}

func (s *MemorySessions) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
