package memory

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// Cache is an in-memory state.Cache: least recently used entries are evicted
// once the entry count or the total size passes its bounds; expired entries
// are never returned.
type Cache struct {
	now        func() time.Time
	maxEntries int
	maxBytes   int64

	mu    sync.Mutex
	ll    *list.List // front: most recently used; values are *cacheItem
	items map[string]*list.Element
	bytes int64
}

type cacheItem struct {
	key     string
	e       state.CacheEntry
	expires time.Time
	size    int64
}

// entryOverhead approximates the bookkeeping bytes of one entry.
const entryOverhead = 128

// NewCache returns an empty cache bounded by maxEntries and maxBytes (zero or
// less: the defaults); now (nil: time.Now) decides expiry.
func NewCache(now func() time.Time, maxEntries int, maxBytes int64) *Cache {
	if now == nil {
		now = time.Now
	}
	if maxEntries <= 0 {
		maxEntries = DefaultCacheMaxEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	return &Cache{now: now, maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

var _ state.Cache = (*Cache)(nil)

// Get implements state.Cache. The returned entry is a copy.
func (c *Cache) Get(_ context.Context, key string) (*state.CacheEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, state.ErrNotFound
	}
	it := el.Value.(*cacheItem)
	if !c.now().Before(it.expires) {
		c.remove(el)
		return nil, state.ErrNotFound
	}
	c.ll.MoveToFront(el)
	e := it.e
	e.Body = append([]byte(nil), it.e.Body...)
	return &e, nil
}

// Put implements state.Cache. A non-positive ttl stores nothing; an entry
// larger than the cache's byte bound is refused with an error.
func (c *Cache) Put(_ context.Context, key string, e *state.CacheEntry, ttl time.Duration) error {
	if e == nil || ttl <= 0 {
		return nil
	}
	size := int64(len(key)+len(e.Body)+len(e.ContentType)+len(e.Provider)+len(e.Model)) + entryOverhead
	if size > c.maxBytes {
		return fmt.Errorf("memory: cache put: entry of %d bytes exceeds the cache size %d", size, c.maxBytes)
	}
	it := &cacheItem{key: key, e: *e, expires: c.now().Add(ttl), size: size}
	it.e.Body = append([]byte(nil), e.Body...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[key]; ok {
		c.remove(old)
	}
	c.items[key] = c.ll.PushFront(it)
	c.bytes += size
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.ll.Back())
	}
	return nil
}

// Len reports the number of entries held (expired ones included until evicted).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Bytes reports the approximate size of the entries held.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// remove drops el; c.mu must be held.
func (c *Cache) remove(el *list.Element) {
	it := el.Value.(*cacheItem)
	c.ll.Remove(el)
	delete(c.items, it.key)
	c.bytes -= it.size
}
