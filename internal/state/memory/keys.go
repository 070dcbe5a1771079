package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aigateway/gateway/internal/state"
)

// Keys is an in-memory state.Keys. Callers get and give copies: changing a
// returned *Key does not change the store.
type Keys struct {
	mu     sync.RWMutex
	byHash map[string]*state.Key
	byID   map[string]string // id -> hash
}

// NewKeys returns an empty key store.
func NewKeys() *Keys {
	return &Keys{byHash: map[string]*state.Key{}, byID: map[string]string{}}
}

var _ state.Keys = (*Keys)(nil)

// Create implements state.Keys.
func (s *Keys) Create(_ context.Context, k *state.Key) error {
	if k == nil || k.ID == "" || k.Hash == "" {
		return fmt.Errorf("memory: create key: id and hash are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byHash[k.Hash]; ok {
		return state.ErrExists
	}
	if _, ok := s.byID[k.ID]; ok {
		return state.ErrExists
	}
	s.byHash[k.Hash] = cloneKey(k)
	s.byID[k.ID] = k.Hash
	return nil
}

// ByHash implements state.Keys.
func (s *Keys) ByHash(_ context.Context, hash string) (*state.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byHash[hash]
	if !ok {
		return nil, state.ErrNotFound
	}
	return cloneKey(k), nil
}

// ByID implements state.Keys.
func (s *Keys) ByID(_ context.Context, id string) (*state.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byHash[s.byID[id]]
	if !ok {
		return nil, state.ErrNotFound
	}
	return cloneKey(k), nil
}

// List implements state.Keys: every key, oldest first (ties by id).
func (s *Keys) List(_ context.Context) ([]*state.Key, error) {
	s.mu.RLock()
	out := make([]*state.Key, 0, len(s.byHash))
	for _, k := range s.byHash {
		out = append(out, cloneKey(k))
	}
	s.mu.RUnlock()
	sortKeys(out)
	return out, nil
}

// SetEnabled implements state.Keys.
func (s *Keys) SetEnabled(_ context.Context, id string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byHash[s.byID[id]]
	if !ok {
		return state.ErrNotFound
	}
	k.Enabled = enabled
	return nil
}

// Delete implements state.Keys.
func (s *Keys) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	hash, ok := s.byID[id]
	if !ok {
		return state.ErrNotFound
	}
	delete(s.byID, id)
	delete(s.byHash, hash)
	return nil
}

// sortKeys orders keys by creation time, then id.
func sortKeys(ks []*state.Key) {
	slices.SortFunc(ks, func(a, b *state.Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func cloneKey(k *state.Key) *state.Key {
	c := *k
	c.AllowedModels = slices.Clone(k.AllowedModels)
	c.AllowedProviders = slices.Clone(k.AllowedProviders)
	c.Metadata = maps.Clone(k.Metadata)
	return &c
}
