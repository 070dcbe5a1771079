package statetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

func (s *suite) keys(t *testing.T) {
	ctx := context.Background()
	created := time.Date(2026, 11, 25, 10, 30, 0, 123456789, time.UTC)

	t.Run("a created key is found by hash and by id with every field", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		want := fullKey("k1", created)
		if err := st.Keys.Create(ctx, want); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got, err := st.Keys.ByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("ByHash: %v", err)
		}
		assertKey(t, "ByHash", got, want)
		got, err = st.Keys.ByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("ByID: %v", err)
		}
		assertKey(t, "ByID", got, want)
	})

	t.Run("a minimal key round trips with empty optional fields", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		want := &state.Key{ID: "min", Hash: hashOf("min"), Enabled: false, CreatedAt: created}
		if err := st.Keys.Create(ctx, want); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got, err := st.Keys.ByID(ctx, "min")
		if err != nil {
			t.Fatalf("ByID: %v", err)
		}
		assertKey(t, "ByID", got, want)
	})

	t.Run("create refuses a taken hash or id and writes nothing", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		if err := st.Keys.Create(ctx, fullKey("k1", created)); err != nil {
			t.Fatalf("Create: %v", err)
		}
		sameHash := fullKey("k2", created)
		sameHash.Hash = hashOf("k1")
		if err := st.Keys.Create(ctx, sameHash); !errors.Is(err, state.ErrExists) {
			t.Fatalf("Create with a taken hash = %v, want ErrExists", err)
		}
		if _, err := st.Keys.ByID(ctx, "k2"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("ByID(k2) after the refused create = %v, want ErrNotFound", err)
		}
		sameID := fullKey("k1", created)
		sameID.Hash = hashOf("other")
		if err := st.Keys.Create(ctx, sameID); !errors.Is(err, state.ErrExists) {
			t.Fatalf("Create with a taken id = %v, want ErrExists", err)
		}
		if _, err := st.Keys.ByHash(ctx, hashOf("other")); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("ByHash(other) after the refused create = %v, want ErrNotFound", err)
		}
		got, err := st.Keys.ByID(ctx, "k1")
		if err != nil {
			t.Fatalf("ByID(k1): %v", err)
		}
		assertKey(t, "the original key", got, fullKey("k1", created))
	})

	t.Run("unknown hashes and ids are not found", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		if _, err := st.Keys.ByHash(ctx, hashOf("nope")); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("ByHash = %v, want ErrNotFound", err)
		}
		if _, err := st.Keys.ByID(ctx, "nope"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("ByID = %v, want ErrNotFound", err)
		}
		if err := st.Keys.SetEnabled(ctx, "nope", true); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("SetEnabled = %v, want ErrNotFound", err)
		}
		if err := st.Keys.Delete(ctx, "nope"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("Delete = %v, want ErrNotFound", err)
		}
		keys, err := st.Keys.List(ctx)
		if err != nil || len(keys) != 0 {
			t.Fatalf("List of an empty store = %d keys, %v; want none", len(keys), err)
		}
	})

	t.Run("list returns every key ordered by creation and nothing else", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		// Other kinds of items in the same store must not show up.
		w := state.Window{Name: "key:k1:rpm", Size: time.Minute}
		if _, err := st.Limits.Take(ctx, w, future(), 1, 10); err != nil {
			t.Fatalf("Take: %v", err)
		}
		if err := st.Spend.Add(ctx, "k1", future(), 5); err != nil {
			t.Fatalf("Spend.Add: %v", err)
		}
		if err := st.Cache.Put(ctx, hashOf("cached"), &state.CacheEntry{Body: []byte("{}")}, time.Hour); err != nil {
			t.Fatalf("Cache.Put: %v", err)
		}
		ids := []string{"c", "a", "e", "b", "d"}
		offsets := []time.Duration{3, 1, 5, 2, 4}
		for i, id := range ids {
			if err := st.Keys.Create(ctx, fullKey(id, created.Add(offsets[i]*time.Second))); err != nil {
				t.Fatalf("Create(%s): %v", id, err)
			}
		}
		// Same creation time: ordered by id.
		if err := st.Keys.Create(ctx, fullKey("a2", created.Add(1*time.Second))); err != nil {
			t.Fatalf("Create(a2): %v", err)
		}
		keys, err := st.Keys.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var got []string
		for _, k := range keys {
			got = append(got, k.ID)
		}
		if want := []string{"a", "a2", "b", "c", "d", "e"}; !slices.Equal(got, want) {
			t.Fatalf("List ids = %v, want %v", got, want)
		}
		assertKey(t, "listed key", keys[0], fullKey("a", created.Add(time.Second)))
	})

	t.Run("set enabled flips the flag and keeps the rest", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		want := fullKey("k1", created)
		if err := st.Keys.Create(ctx, want); err != nil {
			t.Fatalf("Create: %v", err)
		}
		for _, enabled := range []bool{false, false, true} {
			if err := st.Keys.SetEnabled(ctx, "k1", enabled); err != nil {
				t.Fatalf("SetEnabled(%v): %v", enabled, err)
			}
			got, err := st.Keys.ByHash(ctx, want.Hash)
			if err != nil {
				t.Fatalf("ByHash: %v", err)
			}
			want.Enabled = enabled
			assertKey(t, fmt.Sprintf("after SetEnabled(%v)", enabled), got, want)
		}
	})

	t.Run("delete removes both lookups and frees the hash and id", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		k := fullKey("k1", created)
		if err := st.Keys.Create(ctx, k); err != nil {
			t.Fatalf("Create: %v", err)
		}
		if err := st.Keys.Create(ctx, fullKey("k2", created)); err != nil {
			t.Fatalf("Create(k2): %v", err)
		}
		if err := st.Keys.Delete(ctx, "k1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := st.Keys.ByHash(ctx, k.Hash); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("ByHash after Delete = %v, want ErrNotFound", err)
		}
		if _, err := st.Keys.ByID(ctx, "k1"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("ByID after Delete = %v, want ErrNotFound", err)
		}
		if err := st.Keys.Delete(ctx, "k1"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("second Delete = %v, want ErrNotFound", err)
		}
		if err := st.Keys.SetEnabled(ctx, "k1", true); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("SetEnabled after Delete = %v, want ErrNotFound", err)
		}
		keys, err := st.Keys.List(ctx)
		if err != nil || len(keys) != 1 || keys[0].ID != "k2" {
			t.Fatalf("List after Delete = %v, %v; want only k2", keys, err)
		}
		if err := st.Keys.Create(ctx, k); err != nil {
			t.Fatalf("Create again after Delete: %v", err)
		}
	})

	t.Run("changing a returned key does not change the store", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		want := fullKey("k1", created)
		if err := st.Keys.Create(ctx, want); err != nil {
			t.Fatalf("Create: %v", err)
		}
		want.Name = "changed after create"
		want.AllowedModels[0] = "changed"
		got, _ := st.Keys.ByID(ctx, "k1")
		got.Enabled = false
		got.Metadata["team"] = "changed"
		got.AllowedProviders[0] = "changed"
		again, err := st.Keys.ByID(ctx, "k1")
		if err != nil {
			t.Fatalf("ByID: %v", err)
		}
		assertKey(t, "stored key", again, fullKey("k1", created))
	})

	t.Run("concurrent creates of one id let exactly one through", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		const n = 16
		errs := make(chan error, n)
		for i := range n {
			go func() {
				k := fullKey("race", created)
				k.Hash = hashOf(fmt.Sprint("race", i))
				errs <- st.Keys.Create(ctx, k)
			}()
		}
		ok := 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, state.ErrExists):
			default:
				// A transaction conflict surfaces as a plain error: allowed, it wrote nothing.
				t.Logf("Create: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent creates of one id succeeded, want 1", ok)
		}
		keys, err := st.Keys.List(ctx)
		if err != nil || len(keys) != 1 {
			t.Fatalf("List = %d keys, %v; want 1", len(keys), err)
		}
	})
}

// hashOf returns the hex SHA-256 of name, as a key's Hash would be.
func hashOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func fullKey(id string, created time.Time) *state.Key {
	return &state.Key{
		ID:               id,
		Hash:             hashOf(id),
		Name:             "name of " + id,
		Owner:            "owner@example.com",
		Team:             "platform",
		Enabled:          true,
		CreatedAt:        created,
		ExpiresAt:        created.Add(90 * 24 * time.Hour),
		AllowedModels:    []string{"gpt-4o", "claude-sonnet-4-5", "*-mini"},
		AllowedProviders: []string{"openai", "anthropic"},
		Limits:           state.KeyLimits{RequestsPerMinute: 60, RequestsPerHour: 1000, TokensPerMinute: 100000, Shards: 4},
		Budget:           state.Budget{TotalUSD: 100.25, DailyUSD: 0.1, MonthlyUSD: 30},
		Metadata:         map[string]string{"team": "platform", "env": "prod", "note": "üñí ☃"},
	}
}

// assertKey compares every field; nil and empty slices and maps are equal.
func assertKey(t *testing.T, what string, got, want *state.Key) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil key", what)
	}
	var diffs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Hash", got.Hash == want.Hash, got.Hash, want.Hash)
	check("Name", got.Name == want.Name, got.Name, want.Name)
	check("Owner", got.Owner == want.Owner, got.Owner, want.Owner)
	check("Team", got.Team == want.Team, got.Team, want.Team)
	check("Enabled", got.Enabled == want.Enabled, got.Enabled, want.Enabled)
	check("CreatedAt", got.CreatedAt.Equal(want.CreatedAt), got.CreatedAt, want.CreatedAt)
	check("ExpiresAt", got.ExpiresAt.Equal(want.ExpiresAt), got.ExpiresAt, want.ExpiresAt)
	check("AllowedModels", slices.Equal(got.AllowedModels, want.AllowedModels), got.AllowedModels, want.AllowedModels)
	check("AllowedProviders", slices.Equal(got.AllowedProviders, want.AllowedProviders), got.AllowedProviders, want.AllowedProviders)
	check("Limits", got.Limits == want.Limits, got.Limits, want.Limits)
	check("Budget", got.Budget == want.Budget, got.Budget, want.Budget)
	check("Metadata", maps.Equal(got.Metadata, want.Metadata), got.Metadata, want.Metadata)
	if len(diffs) > 0 {
		t.Fatalf("%s:\n%s", what, fmt.Sprint(diffs))
	}
}
