package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// KeyUses is the in-memory state.KeyUses over a Limits and a Spend: a key's
// window "rpm" is the Limits counter "key:<id>:rpm", its spend the Spend's.
// Reserve checks and takes under one lock, which Settle also holds, so it is
// exact under any concurrency (nothing else writes a key's windows).
type KeyUses struct {
	mu     sync.Mutex
	limits *Limits
	spend  *Spend
	sights map[string]*[state.SightSlots]string // per key: its KeyUse.Sight slots
}

// NewKeyUses returns key uses kept in limits and spend.
func NewKeyUses(limits *Limits, spend *Spend) *KeyUses {
	return &KeyUses{limits: limits, spend: spend}
}

var _ state.KeyUses = (*KeyUses)(nil)

// keyWindow is the Limits counter of a key's window.
func keyWindow(keyID string, w state.Window) state.Window {
	return state.Window{Name: "key:" + keyID + ":" + w.Name, Size: w.Size}
}

// Reserve implements state.KeyUses.
func (k *KeyUses) Reserve(ctx context.Context, keyID string, now time.Time, u state.KeyUse) (state.KeyUseResult, error) {
	for _, wu := range u.Windows {
		if wu.Window.Size <= 0 || wu.N < 0 {
			return state.KeyUseResult{}, fmt.Errorf("memory: reserve %q: window size must be positive and n not negative", wu.Window.Name)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	res := state.KeyUseResult{Windows: make([]state.TakeResult, len(u.Windows)), Allowed: true}
	for i, wu := range u.Windows {
		w := keyWindow(keyID, wu.Window)
		start := w.Start(now)
		c := k.limits.count(w, start)
		res.Windows[i] = state.TakeResult{Allowed: c+wu.N <= wu.Limit, Count: c, Reset: start.Add(w.Size)}
		res.Allowed = res.Allowed && res.Windows[i].Allowed
	}
	if res.OverBudget = k.spend.overBudget(keyID, now, u.Caps, u.WholeMicros()); res.OverBudget != "" {
		res.Allowed = false
	}
	if !res.Allowed {
		return res, nil
	}
	for i, wu := range u.Windows {
		if wu.N != 0 {
			if err := k.limits.Adjust(ctx, keyWindow(keyID, wu.Window), now, wu.N); err != nil {
				return state.KeyUseResult{}, err
			}
		}
		res.Windows[i].Count += wu.N
	}
	res.Reserved = u.Caps.Capped(u.Micros)
	took := res.Reserved != (state.SpendAmounts{})
	if took {
		if err := k.spend.adjust(ctx, keyID, now, res.Reserved); err != nil {
			return state.KeyUseResult{}, err
		}
	}
	for _, wu := range u.Windows {
		took = took || wu.N != 0
	}
	if u.Sight != "" && took {
		res.Sight = k.sight(keyID, u.Sight)
	}
	return res, nil
}

// sight records fp in its slot of the key's, as DynamoDB's Reserve does
// when it writes (k.mu held).
func (k *KeyUses) sight(keyID, fp string) state.SightResult {
	if k.sights == nil {
		k.sights = map[string]*[state.SightSlots]string{}
	}
	slots := k.sights[keyID]
	if slots == nil {
		slots = new([state.SightSlots]string)
		k.sights[keyID] = slots
	}
	i := state.SightSlot(fp)
	was := slots[i]
	slots[i] = fp
	if was == fp {
		return state.SightRepeat
	}
	return state.SightFirst
}

// Settle implements state.KeyUses.
func (k *KeyUses) Settle(ctx context.Context, keyID string, at time.Time, windows []state.WindowDelta, spend state.SpendAmounts) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range windows {
		if d.Delta == 0 {
			continue
		}
		if err := k.limits.Adjust(ctx, keyWindow(keyID, d.Window), at, d.Delta); err != nil {
			return err
		}
	}
	if spend == (state.SpendAmounts{}) {
		return nil
	}
	return k.spend.adjust(ctx, keyID, at, spend)
}
