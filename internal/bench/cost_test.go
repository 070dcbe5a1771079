package bench

import (
	"fmt"
	"math"
	"time"
)

// AWS prices in USD, us-east-1, as published on pricesChecked. Update the
// date with the figures.
const pricesChecked = "2026-11-25"

const (
	// AWS Lambda, arm64: duration per GB-second (first tier, up to 7.5 billion
	// GB-seconds a month), billed per 1 ms; and requests.
	lambdaARMPerGBSecond     = 0.0000133334
	lambdaPerMillionRequests = 0.20
	// DynamoDB on-demand, Standard table class (the prices since the
	// 2024-11-01 on-demand cut): per million write and read request units.
	ddbPerMillionWRU = 0.625
	ddbPerMillionRRU = 0.125
)

// billedMs is d as Lambda bills it: whole milliseconds, rounded up, at least 1.
func billedMs(d time.Duration) int64 {
	return max(int64(math.Ceil(float64(d)/float64(time.Millisecond))), 1)
}

// costRows prices a million requests from the measured figures: Lambda's
// request charge, the handler's measured duration as the billed duration, and
// DynamoDB's request units per request.
func costRows(t *table, ddb ddbResult, initDur time.Duration) {
	memMB := envInt("BENCH_MEMORY_MB", 512)
	perMs := float64(memMB) / 1024 * lambdaARMPerGBSecond / 1000 * 1e6 // USD per million requests per billed ms
	t.section("cost", fmt.Sprintf("USD per million gateway requests; Lambda arm64 %d MB + DynamoDB on-demand, us-east-1 prices of %s",
		memMB, pricesChecked))

	missDur, hitDur, from := ddb.memMiss, ddb.memHit, "the memory store (DynamoDB skipped)"
	if ddb.skipped == "" {
		missDur, hitDur, from = ddb.ddbMiss, ddb.ddbHit, "DynamoDB Local"
	}
	cases := []struct {
		name string
		dur  time.Duration
		s    *ddbScenario
	}{
		{"cache miss", missDur, ddb.scenario("cache miss, warm key")},
		{"cache hit", hitDur, ddb.scenario("cache hit, other instance")},
	}
	t.row("Lambda requests", "", usd(lambdaPerMillionRequests), "", fmt.Sprintf("$%.2f per million", lambdaPerMillionRequests))
	lambda := map[string]float64{}
	for _, c := range cases {
		ms := billedMs(c.dur)
		d := float64(ms) * perMs
		lambda[c.name] = lambdaPerMillionRequests + d
		t.row(fmt.Sprintf("Lambda duration, %s (%d ms billed)", c.name, ms), "", usd(d), "",
			fmt.Sprintf("handler median %s with %s; $%.10f per GB-s", fmtDur(c.dur), from, lambdaARMPerGBSecond))
	}
	state := map[string]float64{}
	for _, c := range cases {
		if c.s == nil {
			why := ddb.skipped
			if why == "" {
				why = "not measured"
			}
			t.row("DynamoDB, "+c.name, "", why, "", "")
			continue
		}
		w, r := c.s.wru*ddbPerMillionWRU, c.s.rru*ddbPerMillionRRU
		state[c.name] = w + r
		t.row(fmt.Sprintf("DynamoDB writes, %s (%g WRU)", c.name, c.s.wru), "", usd(w), "", fmt.Sprintf("$%.3f per million WRU", ddbPerMillionWRU))
		t.row(fmt.Sprintf("DynamoDB reads, %s (%g RRU)", c.name, c.s.rru), "", usd(r), "", fmt.Sprintf("$%.3f per million RRU", ddbPerMillionRRU))
	}
	for _, c := range cases {
		l := lambda[c.name]
		s, ok := state[c.name]
		if !ok {
			t.row("total, "+c.name, "", usd(l), "", "Lambda alone; DynamoDB "+ddb.skipped)
			continue
		}
		t.row("total, "+c.name, usd(l), usd(l+s), ratio(l, l+s), "baseline = Lambda alone (requests + duration)")
	}
	t.row("each further second of duration", "", usd(1000*perMs), "", "an upstream's answer time is billed too: a stream pays for its whole length")
	if initDur > 0 {
		ms := billedMs(initDur)
		t.row(fmt.Sprintf("per million cold starts (INIT %d ms billed)", ms), "", usd(float64(ms)*perMs), "",
			"provided.al2023 bills INIT as duration; INIT measured on this machine, not in Lambda")
	}
	t.note("cost: billed duration = the median in-process handler duration measured above (loopback upstream, so no model "+
		"time), rounded up to Lambda's 1 ms; the cache-hit case is a hit on another instance (its in-process cache cold: "+
		"one more GetItem). Prices: Lambda arm64 $%.10f per GB-s and $%.2f per million requests; DynamoDB on-demand $%.3f per "+
		"million WRU and $%.3f per million RRU (us-east-1, checked %s). Not included: data transfer, CloudWatch Logs and "+
		"metrics, Secrets Manager, storage, free tiers.",
		lambdaARMPerGBSecond, lambdaPerMillionRequests, ddbPerMillionWRU, ddbPerMillionRRU, pricesChecked)
}
