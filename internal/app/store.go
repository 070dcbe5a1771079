package app

import (
	"context"
	"fmt"
	"time"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/memory"
)

// NewStore builds the store the configuration names: in memory (the default)
// or DynamoDB. It makes no network call unless create_table is set.
func NewStore(ctx context.Context, cfg *config.Config, now func() time.Time) (*state.Store, error) {
	switch cfg.Store.Kind {
	case "", "memory":
		return memory.NewWithOptions(memory.Options{Now: now, CacheMaxEntries: cfg.Cache.MaxEntries, CacheMaxBytes: cfg.Cache.MaxBytes}), nil
	case "dynamodb":
		client, err := dynamo.NewClient(ctx, cfg.Store.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if cfg.Store.CreateTable {
			if err := dynamo.CreateTable(ctx, client, cfg.Store.Table); err != nil {
				return nil, fmt.Errorf("store: create table %s: %w", cfg.Store.Table, err)
			}
		}
		return dynamo.New(client, cfg.Store.Table, dynamo.WithClock(now)), nil
	default:
		return nil, fmt.Errorf("store: unknown kind %q", cfg.Store.Kind)
	}
}

func priceOverrides(in map[string]config.PriceCfg) map[string]pricing.Price {
	out := make(map[string]pricing.Price, len(in))
	for m, p := range in {
		pp := pricing.Price{Input: p.Input, Output: p.Output}
		for _, f := range []struct {
			from *float64
			to   *float64
		}{{p.CachedInput, &pp.CachedInput}, {p.CacheWrite, &pp.CacheWrite}, {p.CacheWrite1h, &pp.CacheWrite1h}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		out[m] = pp
	}
	return out
}
