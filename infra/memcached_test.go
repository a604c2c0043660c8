package infra_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
)

// The lab's own memcached, on its socket: the counters move with what a
// client does, and a flush empties it.
func TestMemcachedStatsAndFlush(t *testing.T) {
	m := &infra.Memcached{Dir: stateDir(t)}
	p, err := m.Start(context.Background())
	infratest.NeedBinary(t, err)
	defer p.Stop(syscall.SIGTERM, 5*time.Second)
	addr := m.SocketPath()
	before, err := infra.MemcachedStats(addr)
	if err != nil {
		t.Fatal(err)
	}
	mc := memcache.New(addr)
	if err := mc.Set(&memcache.Item{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Get("k"); err != nil {
		t.Fatal(err)
	}
	after, err := infra.MemcachedStats(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cmd_set", "cmd_get", "get_hits"} {
		if after[k] != before[k]+1 {
			t.Errorf("%s went from %g to %g, want one more", k, before[k], after[k])
		}
	}
	if err := infra.FlushMemcached(addr); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Get("k"); err != memcache.ErrCacheMiss {
		t.Errorf("after a flush, get: %v, want a miss", err)
	}
	if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := infra.FlushMemcached(addr); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("flush of a stopped memcached: %v, want an error naming %s", err, addr)
	}
	if _, err := infra.MemcachedStats(addr); err == nil {
		t.Error("stats of a stopped memcached: no error")
	}
}
