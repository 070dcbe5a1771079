package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
)

// KeyUses is the DynamoDB state.KeyUses, and Spend reads and writes the same
// item: one per key, pk=USE#<key-id>, sk=USE, no ttl, holding
//
//	<window>@<start unix>+<size seconds>   N  a rate-limit window's count ("rpm@1764590400+60")
//	usd                                    N  the key's total spend, micro-dollars
//	usd@d<yyyy-mm-dd>, usd@m<yyyy-mm>      N  its spend in a UTC day and a UTC month
//
// so that admitting a request is one conditional UpdateItem (every window
// and every capped period in one condition: all of it is taken or none)
// and settling it one more unconditional UpdateItem: at most 1 write unit
// each while the item stays under 1 KB, which it does: each write removes
// the windows of past periods (the names come back with the answer of the
// write before, up to maxRemoves a write), days before yesterday and months
// before last month likewise. One item per key means one partition per key:
// see the README for how far one key scales, and Limits.Shards past it.
type KeyUses struct {
	d *db

	mu    sync.Mutex
	stale map[string][]string // per key: attribute names of past periods, seen in a reservation's answer
}

var _ state.KeyUses = (*KeyUses)(nil)

// Spend is the DynamoDB state.Spend: the spend attributes of a key's
// key-use item (see KeyUses).
type Spend struct{ u *KeyUses }

var _ state.Spend = (*Spend)(nil)

const (
	skUse     = "USE"
	attrSpend = "usd"
	// attrLayout marks an item written in this layout (its first write
	// takes over the spend of the layout before: migrateSpend).
	attrLayout = "v"
	// maxStaleKeys bounds the keys whose past attributes wait for a write.
	maxStaleKeys = 10_000
	// maxRemoves bounds the past attributes one write removes, keeping its
	// expression well under DynamoDB's 4 KB.
	maxRemoves = 50
)

func usePK(keyID string) string { return "USE#" + keyID }

func windowAttr(w state.Window, start time.Time) string {
	return w.Name + "@" + strconv.FormatInt(start.Unix(), 10) + "+" + strconv.FormatInt(int64(w.Size/time.Second), 10)
}

func dayAttr(at time.Time) string   { return attrSpend + "@d" + at.UTC().Format(memory.DayLayout) }
func monthAttr(at time.Time) string { return attrSpend + "@m" + at.UTC().Format(memory.MonthLayout) }

// period is one budget period's attribute at a moment: its name, the word
// for it, and when it stops being charged (zero for the total).
type period struct {
	attr, name string
	expiry     time.Time
}

func periods(at time.Time) [3]period {
	return [3]period{
		{attrSpend, "total", time.Time{}},
		{dayAttr(at), "daily", memory.DayExpiry(at)},
		{monthAttr(at), "monthly", memory.MonthExpiry(at)},
	}
}

func amounts(a state.SpendAmounts) [3]int64 { return [3]int64{a.Total, a.Day, a.Month} }

// expr builds an update's names and values.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
	n      int
}

func newExpr() *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

func (e *expr) name(attr string) string {
	for k, v := range e.names {
		if v == attr {
			return k
		}
	}
	k := "#a" + strconv.Itoa(len(e.names))
	e.names[k] = attr
	return k
}

func (e *expr) value(v int64) string {
	k := ":v" + strconv.Itoa(e.n)
	e.n++
	e.values[k] = num(v)
	return k
}

// text is a string value (named apart from the numbers, which fakedynamo sums).
func (e *expr) text(v string) string {
	k := ":s" + strconv.Itoa(len(e.values))
	e.values[k] = &types.AttributeValueMemberS{Value: v}
	return k
}

// sightAttr is the attribute of fingerprint fp's slot (state.KeyUse.Sight).
func sightAttr(fp string) string { return "s" + strconv.Itoa(state.SightSlot(fp)) }

// Reserve implements state.KeyUses with one conditional UpdateItem (or,
// when nothing is added, one strongly consistent GetItem: a check only),
// which also removes up to maxRemoves attributes of past periods. A refusal
// reports the counts from the same call's answer. As for the counters, an
// attempt that provably did not apply is sent again and an ambiguous one is
// an error wrapping ErrOutcomeUnknown.
func (u *KeyUses) Reserve(ctx context.Context, keyID string, now time.Time, use state.KeyUse) (state.KeyUseResult, error) {
	res := state.KeyUseResult{Windows: make([]state.TakeResult, len(use.Windows)), Allowed: true}
	for i, wu := range use.Windows {
		if wu.Window.Size < time.Second || wu.N < 0 || strings.ContainsAny(wu.Window.Name, "@+") {
			return state.KeyUseResult{}, fmt.Errorf("dynamo: reserve %q: a window needs a name without @ or +, a size of a second or more and n not negative", wu.Window.Name)
		}
		start := wu.Window.Start(now)
		res.Windows[i] = state.TakeResult{Allowed: wu.N <= wu.Limit, Count: -1, Reset: start.Add(wu.Window.Size)}
		// Even an empty window could not take it: refused without a call.
		res.Allowed = res.Allowed && res.Windows[i].Allowed
	}
	caps := amounts(use.Caps)
	whole := use.WholeMicros()
	for i, p := range periods(now) {
		if state.OverCap(0, caps[i], whole) && res.OverBudget == "" {
			res.OverBudget, res.Allowed = p.name, false // not even an empty period holds it
		}
	}
	if !res.Allowed {
		return res, nil
	}
	e := newExpr()
	var adds, conds []string
	named := map[string]bool{}
	for _, wu := range use.Windows {
		attr := windowAttr(wu.Window, wu.Window.Start(now))
		named[attr] = true
		a := e.name(attr)
		if wu.N > 0 {
			adds = append(adds, a+" "+e.value(wu.N))
		}
		conds = append(conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= %s)", a, a, e.value(wu.Limit-wu.N)))
	}
	for i, p := range periods(now) {
		if caps[i] <= 0 {
			continue
		}
		named[p.attr] = true
		a := e.name(p.attr)
		if use.Micros != 0 {
			adds = append(adds, a+" "+e.value(use.Micros))
		}
		if whole > 0 {
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= %s)", a, a, e.value(caps[i]-whole)))
		} else {
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s < %s)", a, a, e.value(caps[i])))
		}
	}
	if len(conds) == 0 {
		return res, nil
	}
	key := u.d.key(usePK(keyID), skUse)
	if len(adds) == 0 {
		out, err := u.d.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(u.d.table), Key: key, ConsistentRead: aws.Bool(true)}, u.d.callOpts...)
		if err != nil {
			return state.KeyUseResult{}, fmt.Errorf("dynamo: reserve %s: %w", keyID, err)
		}
		u.judge(&res, out.Item, now, use)
		return res, nil
	}
	var sets []string
	if use.Sight != "" {
		sets = append(sets, e.name(sightAttr(use.Sight))+" = "+e.text(use.Sight))
	}
	update, removed := u.update(e, keyID, adds, sets, named)
	out, err := u.d.addItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(u.d.table),
		Key:                                 key,
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames:            e.names,
		ExpressionAttributeValues:           e.values,
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		// Nothing was removed either: the item as it is tells what is past.
		u.judge(&res, ccf.Item, now, use)
		u.remember(keyID, ccf.Item, now, nil)
		if res.Allowed {
			return state.KeyUseResult{}, fmt.Errorf("dynamo: reserve %s: the condition failed, yet the item it returned fits", keyID)
		}
		return res, nil
	case err != nil:
		u.unremove(keyID, removed)
		return state.KeyUseResult{}, fmt.Errorf("dynamo: reserve %s: %w", keyID, err)
	}
	for i, wu := range use.Windows {
		c, _ := getInt(out.Attributes, windowAttr(wu.Window, wu.Window.Start(now)))
		res.Windows[i].Count = c + wu.N
	}
	if use.Micros != 0 {
		res.Reserved = use.Caps.Capped(use.Micros)
	}
	if use.Sight != "" {
		res.Sight = state.SightFirst
		if v, ok := out.Attributes[sightAttr(use.Sight)].(*types.AttributeValueMemberS); ok && v.Value == use.Sight {
			res.Sight = state.SightRepeat
		}
	}
	u.afterWrite(ctx, keyID, out.Attributes, now, removed)
	return res, nil
}

// update is an UpdateExpression that adds adds, sets sets, marks the item
// with attrLayout, and removes up to maxRemoves attributes of past periods
// the key's earlier answers showed (none of named); it returns the names it
// removes.
func (u *KeyUses) update(e *expr, keyID string, adds, sets []string, named map[string]bool) (string, []string) {
	sets = append([]string{e.name(attrLayout) + " = if_not_exists(" + e.name(attrLayout) + ", " + e.value(1) + ")"}, sets...)
	update := "ADD " + strings.Join(adds, ", ") + " SET " + strings.Join(sets, ", ")
	var removed, rs []string
	for _, a := range u.takeStale(keyID) {
		if !named[a] {
			removed = append(removed, a)
			rs = append(rs, e.name(a))
		}
	}
	if len(rs) > 0 {
		update += " REMOVE " + strings.Join(rs, ", ")
	}
	return update, removed
}

// afterWrite is what follows a write, given the item as it was before it:
// the item's past periods are remembered for the next write to remove, and
// an item written for the first time takes over the key's spend from the
// layout before key-use items (migrateSpend), whatever became of the
// request: a client that has gone cannot cut the move short.
func (u *KeyUses) afterWrite(ctx context.Context, keyID string, old map[string]types.AttributeValue, now time.Time, removed []string) {
	u.remember(keyID, old, now, removed)
	if _, ok := old[attrLayout]; !ok {
		u.migrateSpend(context.WithoutCancel(ctx), keyID, now)
	}
}

// judge fills res from item, the key's item as it was: which windows were
// full and which budget was spent (nothing was taken).
func (u *KeyUses) judge(res *state.KeyUseResult, item map[string]types.AttributeValue, now time.Time, use state.KeyUse) {
	for i, wu := range use.Windows {
		c, _ := getInt(item, windowAttr(wu.Window, wu.Window.Start(now)))
		res.Windows[i].Count = c
		res.Windows[i].Allowed = c+wu.N <= wu.Limit
		res.Allowed = res.Allowed && res.Windows[i].Allowed
	}
	caps := amounts(use.Caps)
	whole := use.WholeMicros()
	for i, p := range periods(now) {
		spent, _ := getInt(item, p.attr)
		if state.OverCap(spent, caps[i], whole) {
			res.OverBudget, res.Allowed = p.name, false
			break
		}
	}
	if res.Allowed && use.Micros != 0 {
		res.Reserved = use.Caps.Capped(use.Micros)
	}
}

// remember keeps the names in item of periods that are over (but not those
// a write just removed), for the key's next write to remove.
func (u *KeyUses) remember(keyID string, item map[string]types.AttributeValue, now time.Time, removed []string) {
	var old []string
	for name := range item {
		if isPast(name, now) && !slices.Contains(removed, name) {
			old = append(old, name)
		}
	}
	if len(old) == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stale == nil || len(u.stale) >= maxStaleKeys {
		u.stale = map[string][]string{}
	}
	u.stale[keyID] = old
}

// takeStale takes up to maxRemoves of the key's remembered past attributes.
func (u *KeyUses) takeStale(keyID string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	old := u.stale[keyID]
	if len(old) <= maxRemoves {
		delete(u.stale, keyID)
		return old
	}
	u.stale[keyID] = old[maxRemoves:]
	return old[:maxRemoves]
}

// unremove gives back the names a write that did not apply would have removed.
func (u *KeyUses) unremove(keyID string, names []string) {
	if len(names) == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stale == nil {
		u.stale = map[string][]string{}
	}
	u.stale[keyID] = append(u.stale[keyID], names...)
}

// isPast reports whether attribute name is a window or a spend period that
// nothing charges any more: a window whose counter would have expired
// (memory.CounterExpiry), a day before yesterday, a month before last month.
func isPast(name string, now time.Time) bool {
	now = now.UTC()
	switch {
	case strings.HasPrefix(name, attrSpend+"@d"):
		return name < dayAttr(now.AddDate(0, 0, -1))
	case strings.HasPrefix(name, attrSpend+"@m"):
		y, m, _ := now.Date()
		return name < monthAttr(time.Date(y, m-1, 1, 0, 0, 0, 0, time.UTC))
	}
	at, plus := strings.LastIndexByte(name, '@'), strings.LastIndexByte(name, '+')
	if at < 0 || plus < at {
		return false
	}
	start, err1 := strconv.ParseInt(name[at+1:plus], 10, 64)
	size, err2 := strconv.ParseInt(name[plus+1:], 10, 64)
	if err1 != nil || err2 != nil || size <= 0 {
		return false
	}
	w := state.Window{Size: time.Duration(size) * time.Second}
	return !now.Before(memory.CounterExpiry(w, time.Unix(start, 0)))
}

// Settle implements state.KeyUses with one UpdateItem (ADD), which also
// removes up to maxRemoves attributes of past periods. Nothing to add is no
// call. A day or month no longer charged is not written.
func (u *KeyUses) Settle(ctx context.Context, keyID string, at time.Time, windows []state.WindowDelta, spend state.SpendAmounts) error {
	e := newExpr()
	var adds []string
	added := map[string]bool{}
	for _, d := range windows {
		if d.Delta == 0 {
			continue
		}
		if d.Window.Size < time.Second {
			return fmt.Errorf("dynamo: settle %q: window size must be a second or more", d.Window.Name)
		}
		a := windowAttr(d.Window, d.Window.Start(at))
		added[a] = true
		adds = append(adds, e.name(a)+" "+e.value(d.Delta))
	}
	now := u.d.now()
	amt := amounts(spend)
	for i, p := range periods(at) {
		if amt[i] == 0 || (!p.expiry.IsZero() && !now.Before(p.expiry)) {
			continue
		}
		added[p.attr] = true
		adds = append(adds, e.name(p.attr)+" "+e.value(amt[i]))
	}
	if len(adds) == 0 {
		return nil
	}
	update, removed := u.update(e, keyID, adds, nil, added)
	out, err := u.d.addItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(u.d.table),
		Key:                       u.d.key(usePK(keyID), skUse),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil {
		u.unremove(keyID, removed)
		return fmt.Errorf("dynamo: settle %s: %w", keyID, err)
	}
	u.afterWrite(ctx, keyID, out.Attributes, now, removed)
	return nil
}

// migrateSpend moves a key's spend from the layout before key-use items
// (pk=SPEND#<key-id>, sk=TOTAL | DAY#<yyyy-mm-dd> | MONTH#<yyyy-mm>,
// attribute usd_micros) into its key-use item: the total, today and this
// month, added once, by the first write of the item (the one that set
// attrLayout). The old items are left as they are. Best effort: a store
// failure here (both the read, with its follow-ups, and the write failing)
// leaves the old spend uncounted, never counted twice.
func (u *KeyUses) migrateSpend(ctx context.Context, keyID string, now time.Time) {
	old, err := u.legacySpend(ctx, keyID, now)
	if err != nil || old == (state.SpendAmounts{}) {
		return
	}
	e := newExpr()
	var adds []string
	amt := amounts(old)
	for i, p := range periods(now) {
		if amt[i] != 0 {
			adds = append(adds, e.name(p.attr)+" "+e.value(amt[i]))
		}
	}
	_, _ = u.d.addItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(u.d.table),
		Key:                       u.d.key(usePK(keyID), skUse),
		UpdateExpression:          aws.String("ADD " + strings.Join(adds, ", ")),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
}

// legacySpend is the key's spend in the layout before key-use items: its
// total and the day and month of at (one BatchGetItem, and follow-ups for
// what it leaves unprocessed; absent items are 0).
func (u *KeyUses) legacySpend(ctx context.Context, keyID string, at time.Time) (state.SpendAmounts, error) {
	pk := "SPEND#" + keyID
	day, month := "DAY#"+at.UTC().Format(memory.DayLayout), "MONTH#"+at.UTC().Format(memory.MonthLayout)
	items, err := u.d.batchGet(ctx, []map[string]types.AttributeValue{u.d.key(pk, "TOTAL"), u.d.key(pk, day), u.d.key(pk, month)})
	if err != nil {
		return state.SpendAmounts{}, err
	}
	var old state.SpendAmounts
	for _, item := range items {
		v, _ := getInt(item, "usd_micros")
		switch getString(item, attrSK) {
		case "TOTAL":
			old.Total = v
		case day:
			old.Day = v
		case month:
			old.Month = v
		}
	}
	return old, nil
}

// Add implements state.Spend: one UpdateItem ADD of the total, the day and
// the month.
func (sp *Spend) Add(ctx context.Context, keyID string, at time.Time, micros int64) error {
	return sp.u.Settle(ctx, keyID, at, nil, state.SpendAmounts{Total: micros, Day: micros, Month: micros})
}

// Get implements state.Spend with one strongly consistent GetItem. A day or
// month past its expiry (memory.DayExpiry, memory.MonthExpiry) reads as
// zero, as does one a settlement removed.
func (sp *Spend) Get(ctx context.Context, keyID string, at time.Time) (state.SpendTotals, error) {
	d := sp.u.d
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: d.key(usePK(keyID), skUse), ConsistentRead: aws.Bool(true)}, d.callOpts...)
	if err != nil {
		return state.SpendTotals{}, fmt.Errorf("dynamo: spend get %s: %w", keyID, err)
	}
	now := d.now()
	var v [3]int64
	for i, p := range periods(at) {
		if p.expiry.IsZero() || now.Before(p.expiry) {
			v[i], _ = getInt(out.Item, p.attr)
		}
	}
	if _, ok := out.Item[attrLayout]; !ok {
		// Not written yet in this layout: its spend is still in the one before.
		old, err := sp.u.legacySpend(ctx, keyID, at)
		if err != nil {
			return state.SpendTotals{}, fmt.Errorf("dynamo: spend get %s: %w", keyID, err)
		}
		v[0], v[1], v[2] = v[0]+old.Total, v[1]+old.Day, v[2]+old.Month
	}
	return state.SpendTotals{TotalMicros: v[0], DayMicros: v[1], MonthMicros: v[2]}, nil
}
