package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// Fills and leases.
//
// A reader that misses reads the database and stores what it read. If a
// write lands between the read and the store, the write's delete comes
// first and the reader then stores the value from before the write, which
// stays until its TTL: a comment posted and not shown. The cure is the
// lease of Nishtala et al., "Scaling Memcache at Facebook" (NSDI 2013),
// built from memcached's ordinary commands:
//
//   - A reader that misses takes a lease on the key before it reads, and
//     stores its value only if the lease is still its own afterwards.
//   - A write deletes the leases of what it changed along with the values.
//
// Either the write's delete comes after the reader's store (and deletes
// it), or it comes before and breaks the lease (and the store is refused or
// undone). A lease that expires is as good as broken, so a reader that
// dies never blocks a key for longer than LeaseTTL. Only one reader fills a
// key at a time; the others read the database meanwhile, as on any miss.
//
// Query results hold their lease in the key itself: a token that no reader
// mistakes for a value, which the holder replaces with memcached's
// compare-and-swap, refused if a delete came in between. Pages cannot: nginx
// sends whatever a page key holds to the browser. A page's lease is a key
// of its own ("lease:" + the page's key), checked after the store; a page
// stored under a lease found broken is deleted again. So a write breaks the
// leases of pages before it deletes the pages (deletePages), and deletes
// query results before it breaks any page's lease: a page rendered from a
// query result read before that delete began under a lease the write then
// breaks.

// LeaseTTL bounds how long a fill may take from its read to its store. A
// slower fill finds its lease expired and stores nothing.
const LeaseTTL = 10 * time.Second

// leasePrefix begins every lease token, a byte no JSON value or HTML page
// begins with.
const leasePrefix = "\x00lease:"

// newLeaseToken returns a token no other lease holds.
func newLeaseToken() []byte {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return []byte(leasePrefix + hex.EncodeToString(b))
}

// isLeaseToken says whether a value read from a key is a lease, not a value.
func isLeaseToken(v []byte) bool { return bytes.HasPrefix(v, []byte(leasePrefix)) }

// queryLease is the lease on a query result's key, held in the key itself;
// a nil *queryLease is one that could not be taken (another reader holds
// the key, or memcached is out of reach) and fills nothing.
type queryLease struct {
	mc   *memcache.Client
	item *memcache.Item // the token as read back, with its CAS id
}

// lease takes the lease on key: add succeeds only on an empty key, and the
// token is read back for the compare-and-swap id that fill needs.
func (s *Store) lease(key string) *queryLease {
	token := newLeaseToken()
	if err := s.MC.Add(&memcache.Item{Key: key, Value: token, Expiration: seconds(LeaseTTL)}); err != nil {
		if !errors.Is(err, memcache.ErrNotStored) {
			s.errs.warn("lease "+key, err)
		}
		return nil
	}
	it, err := s.MC.Get(key)
	if err != nil || !bytes.Equal(it.Value, token) {
		return nil // a write deleted it at once, and another reader took it
	}
	return &queryLease{mc: s.MC, item: it}
}

// fill replaces the lease with value, unless the key changed since the
// lease was taken (a write deleted it): then nothing is stored.
func (l *queryLease) fill(value []byte, ttl time.Duration) error {
	l.item.Value, l.item.Expiration = value, seconds(ttl)
	err := l.mc.CompareAndSwap(l.item)
	if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) {
		return nil // the lease was broken: the value may be stale
	}
	return err
}

// release gives the lease up unused (the read failed), if it is still
// held: the next reader need not wait for it to expire.
func (l *queryLease) release() {
	if l != nil && holds(l.mc, l.item.Key, l.item.Value) {
		// Deleting someone else's lease, taken in between, costs them a
		// fill, never a stale value: deleting is always safe.
		_ = l.mc.Delete(l.item.Key)
	}
}

// holds says whether key still holds the lease token.
func holds(mc *memcache.Client, key string, token []byte) bool {
	it, err := mc.Get(key)
	return err == nil && bytes.Equal(it.Value, token)
}

// pageLeaseKey is the key of the lease on a page's key.
func pageLeaseKey(key string) string { return "lease:" + key }

// Lease takes the lease on a page's key before the page is rendered and
// returns the fill: fill(page) stores the page, and deletes it again if a
// write broke the lease meanwhile (the page may show what the write
// changed); fill(nil) gives the lease up. When another reader is filling
// the page, or memcached is out of reach, the fill stores nothing.
func (p *Pages) Lease(_ context.Context, key string) (fill func(page []byte)) {
	lk, token := pageLeaseKey(key), newLeaseToken()
	if err := p.MC.Add(&memcache.Item{Key: lk, Value: token, Expiration: seconds(LeaseTTL)}); err != nil {
		if !errors.Is(err, memcache.ErrNotStored) {
			p.errs.warn("lease page", err)
		}
		return func([]byte) {}
	}
	return func(page []byte) {
		if page != nil {
			if err := p.MC.Set(&memcache.Item{Key: key, Value: page, Expiration: seconds(p.ttl())}); err != nil {
				p.errs.warn("set page", err)
				return
			}
		}
		if !holds(p.MC, lk, token) {
			if page != nil {
				deleteKeys(p.MC, &p.errs, key) // stored under a broken lease
			}
			return
		}
		_ = p.MC.Delete(lk)
	}
}

// deletePages deletes pages a write changed: every lease first, then every
// page, so that a render in progress either stores before the page's delete
// (and is deleted) or finds its lease broken.
func deletePages(mc *memcache.Client, errs *warnOnce, keys []string) {
	leases := make([]string, len(keys))
	for i, k := range keys {
		leases[i] = pageLeaseKey(k)
	}
	deleteKeys(mc, errs, leases...)
	deleteKeys(mc, errs, keys...)
}
