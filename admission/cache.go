package admission

import (
	"sync"
	"time"
)

// cacheKey is what a verdict depends on: the policy in force, the
// namespace (policies differ per namespace) and the image as written.
type cacheKey struct {
	gen       uint64
	namespace string
	image     string
}

type cacheEntry struct {
	v       *Verdict
	expires time.Time
}

// cache keeps verdicts for a while. Allowed images are kept for ttl,
// denied ones for denyTTL (shorter: a signature pushed after a denial
// should count soon), and only when the image was resolved to a digest:
// a denial because the registry could not be read is not kept, nor are
// errors.
type cache struct {
	ttl, denyTTL time.Duration
	max          int
	now          func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

func newCache(ttl, denyTTL time.Duration, max int) *cache {
	return &cache{ttl: ttl, denyTTL: denyTTL, max: max, now: time.Now, entries: map[cacheKey]cacheEntry{}}
}

func (c *cache) get(k cacheKey) (*Verdict, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e.v, true
}

func (c *cache) put(k cacheKey, v *Verdict) {
	ttl := c.ttl
	if v.Decision == nil || !v.Decision.Allowed() {
		if v.Digest == "" {
			return
		}
		ttl = min(ttl, c.denyTTL)
	}
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, key)
			}
		}
		// Still full: drop about half, in map order (arbitrary). A
		// dropped verdict is only verified again.
		for key := range c.entries {
			if len(c.entries) < c.max/2 {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = cacheEntry{v: v, expires: now.Add(ttl)}
}

// clear forgets everything (a new policy generation).
func (c *cache) clear() {
	c.mu.Lock()
	c.entries = map[cacheKey]cacheEntry{}
	c.mu.Unlock()
}
