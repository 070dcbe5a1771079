package memory

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// DefaultResponsesMaxBytes bounds the stored responses of a memory store.
const DefaultResponsesMaxBytes = 64 << 20

// Responses is an in-memory state.Responses. Past its byte bound the oldest
// entries are dropped first (every entry gets the gateway's one ttl, so the
// oldest is the first to expire anyway); expired entries are never returned.
type Responses struct {
	now      func() time.Time
	maxBytes int64

	mu    sync.Mutex
	ll    *list.List // front: newest; values are *responseItem
	items map[string]*list.Element
	bytes int64
}

type responseItem struct {
	id, owner string
	blob      []byte
	expires   time.Time
	size      int64
}

// NewResponses returns an empty store bounded by maxBytes (zero or less:
// DefaultResponsesMaxBytes); now (nil: time.Now) decides expiry.
func NewResponses(now func() time.Time, maxBytes int64) *Responses {
	if now == nil {
		now = time.Now
	}
	if maxBytes <= 0 {
		maxBytes = DefaultResponsesMaxBytes
	}
	return &Responses{now: now, maxBytes: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

var _ state.Responses = (*Responses)(nil)

// Put implements state.Responses. A blob larger than the whole bound is
// refused with an error.
func (r *Responses) Put(_ context.Context, keyID, id string, blob []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	size := int64(len(id)+len(keyID)+len(blob)) + entryOverhead
	if size > r.maxBytes {
		return fmt.Errorf("memory: responses put: %d bytes exceed the store's size %d", size, r.maxBytes)
	}
	it := &responseItem{id: id, owner: keyID, blob: append([]byte(nil), blob...), expires: r.now().Add(ttl), size: size}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.items[id]; ok {
		r.remove(old)
	}
	r.items[id] = r.ll.PushFront(it)
	r.bytes += size
	for r.bytes > r.maxBytes {
		r.remove(r.ll.Back())
	}
	return nil
}

// Get implements state.Responses. The returned blob is a copy.
func (r *Responses) Get(_ context.Context, keyID, id string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	it, err := r.find(keyID, id)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), it.Value.(*responseItem).blob...), nil
}

// Delete implements state.Responses.
func (r *Responses) Delete(_ context.Context, keyID, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, err := r.find(keyID, id)
	if err != nil {
		return err
	}
	r.remove(el)
	return nil
}

// find returns the live entry id of owner keyID; r.mu must be held.
func (r *Responses) find(keyID, id string) (*list.Element, error) {
	el, ok := r.items[id]
	if !ok {
		return nil, state.ErrNotFound
	}
	it := el.Value.(*responseItem)
	if !r.now().Before(it.expires) {
		r.remove(el)
		return nil, state.ErrNotFound
	}
	if it.owner != keyID {
		return nil, state.ErrNotFound
	}
	return el, nil
}

// Bytes reports the approximate size of the entries held.
func (r *Responses) Bytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

// remove drops el; r.mu must be held.
func (r *Responses) remove(el *list.Element) {
	it := el.Value.(*responseItem)
	r.ll.Remove(el)
	delete(r.items, it.id)
	r.bytes -= it.size
}
