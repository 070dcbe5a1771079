package admission

import (
	"fmt"
	"math"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// Budgets are held by reservation: before the call, the request's estimated
// cost (the prompt estimate plus its maximum output, or DefaultMaxOutputTokens
// when it sets none, at the dearest price among its targets) is added to
// every capped period of the key while that period is below its cap; after
// the call the reservation is settled to the real cost. Concurrent requests
// can therefore overspend a budget by at most one reservation each, and a
// key with a budget can only use models that have a price.

// budgetCaps are a key's budgets in micro-dollars (0: no cap).
func budgetCaps(k *state.Key) state.SpendAmounts {
	if k == nil {
		return state.SpendAmounts{}
	}
	return state.SpendAmounts{Total: usdMicros(k.Budget.TotalUSD), Day: usdMicros(k.Budget.DailyUSD), Month: usdMicros(k.Budget.MonthlyUSD)}
}

func usdMicros(usd float64) int64 {
	if usd <= 0 {
		return 0
	}
	return pricing.Micros(usd)
}

func hasBudget(k *state.Key) bool { return budgetCaps(k) != (state.SpendAmounts{}) }

// overBudget is the refusal for a key whose spend reached one of its budgets.
func overBudget(k *state.Key, period string) *openai.Error {
	limit := map[string]float64{"total": k.Budget.TotalUSD, "daily": k.Budget.DailyUSD, "monthly": k.Budget.MonthlyUSD}[period]
	return &openai.Error{Code: openai.CodeQuotaExceeded,
		Message: fmt.Sprintf("This API key has used its %s budget of $%.2f", period, limit)}
}

// reservationMicros is the estimated cost of a request at the dearest price
// among the plan's targets. Targets without a price are dropped from the plan
// (a budget cannot meter them); none left is a 403 naming the model.
func (a *Admitter) reservationMicros(req Request) (int64, error) {
	out := req.MaxOutputTokens
	if out <= 0 {
		out = a.set.DefaultMaxOutputTokens
	}
	var dearest float64
	priced := keep(req.Plan.Targets, func(t *router.Target) bool {
		usd, ok := a.prices.EstimateCost(t.Model, clampTokens(req.PromptTokens), clampTokens(out), req.CacheWrites)
		if ok && usd > dearest {
			dearest = usd
		}
		return ok
	})
	if len(req.Plan.Targets) == 0 {
		return 0, nil // nothing to call: the request fails later, at no cost
	}
	if len(priced) == 0 {
		return 0, &openai.Error{Code: openai.CodeForbidden, Param: "model",
			Message: fmt.Sprintf("model %q has no price, and this API key has a budget: the gateway cannot meter it (an operator can add [pricing.%q], or a default price as [pricing.\"*\"])", req.Model, req.Plan.Targets[0].Model)}
	}
	req.Plan.Targets = priced
	return pricing.Micros(dearest), nil
}

// clampTokens bounds a client's token figure so arithmetic on it cannot overflow.
func clampTokens(n int64) int {
	return int(min(max(n, 0), math.MaxInt32))
}
