package admission

import (
	"fmt"
	"net/http"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/state"
)

// overBudget is the refusal for a key whose spend reached one of its budgets.
func overBudget(b state.Budget, s state.SpendTotals) *openai.Error {
	for _, p := range []struct {
		limit  float64
		micros int64
		what   string
	}{{b.TotalUSD, s.TotalMicros, "total"}, {b.DailyUSD, s.DayMicros, "daily"}, {b.MonthlyUSD, s.MonthMicros, "monthly"}} {
		if p.limit > 0 && float64(p.micros) >= p.limit*1e6 {
			return &openai.Error{Code: openai.CodeRateLimited, Status: http.StatusTooManyRequests,
				Message: fmt.Sprintf("This API key has used its %s budget of $%.2f", p.what, p.limit)}
		}
	}
	return nil
}

func hasBudget(k *state.Key) bool {
	return k != nil && (k.Budget.TotalUSD > 0 || k.Budget.DailyUSD > 0 || k.Budget.MonthlyUSD > 0)
}
