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

// frontDoors are the ways in front of the functions and their own price per
// million requests (first tier): a Function URL adds nothing; a REST API
// $3.50; an HTTP API $1.00 (per 512 KB of request or response).
var frontDoors = []struct {
	name       string
	perMillion float64
}{
	{"Function URL (streaming)", 0},
	{"REST API (streaming)", 3.50},
	{"HTTP API (buffered, 30 s)", 1.00},
}

// defaultMemoryMB is the stack's memory size (infra.DefaultMemoryMB), which
// the cost rows assume unless BENCH_MEMORY_MB says otherwise.
const defaultMemoryMB = 256

// fullCPUMB is the memory size at which Lambda gives a function one whole
// vCPU; below it the share is memory / fullCPUMB.
const fullCPUMB = 1769

// billedMs is d as Lambda bills it: whole milliseconds, rounded up, at least 1.
func billedMs(d time.Duration) int64 {
	return max(int64(math.Ceil(float64(d)/float64(time.Millisecond))), 1)
}

// perMsAt is the USD per million requests of one billed ms at mb MB.
func perMsAt(mb int) float64 { return float64(mb) / 1024 * lambdaARMPerGBSecond / 1000 * 1e6 }

// billedAt estimates the duration Lambda bills at mb MB for a handler that
// took wall on a whole core of this machine, cpu of it computing: the
// computing stretches by fullCPUMB / mb below one vCPU, the waiting (on
// DynamoDB, on the model) does not. Without a CPU figure (0) it is wall.
func billedAt(wall, cpu time.Duration, mb int) (ms int64, wait, stretched time.Duration, share float64) {
	share = min(float64(mb)/fullCPUMB, 1)
	wait = max(wall-cpu, 0)
	stretched = time.Duration(float64(cpu) / share)
	return billedMs(wait + stretched), wait, stretched, share
}

// costRows prices a million requests from the measured figures: Lambda's
// request charge, the handler's duration as Lambda would bill it at the
// memory size (billedAt), and DynamoDB's request units per request.
func costRows(t *table, ddb ddbResult, initDur time.Duration) {
	memMB := envInt("BENCH_MEMORY_MB", defaultMemoryMB)
	perMs := perMsAt(memMB)
	t.section("cost", fmt.Sprintf("USD per million gateway requests; Lambda arm64 %d MB + DynamoDB on-demand, us-east-1 prices of %s",
		memMB, pricesChecked))

	durs, rep, from := ddb.mem, ddb.mem, "the memory store (DynamoDB skipped)"
	var cpus, repCPUs [kinds]time.Duration // none measured with the memory store
	rep[secondAsk] = ddb.mem[firstAsk]
	if ddb.skipped == "" {
		durs, rep, cpus, repCPUs, from = ddb.ddb, ddb.rep, ddb.ddbCPU, ddb.repCPU, "DynamoDB Local"
	}
	cases := []struct {
		name      string
		wall, cpu time.Duration
		s         *ddbScenario
	}{
		{"cache miss", durs[firstAsk], cpus[firstAsk], ddb.scenario("cache miss, warm key")},
		{"cache hit", durs[hit], cpus[hit], ddb.scenario("cache hit, other instance")},
		{"store = repeat, cache miss", rep[firstAsk], repCPUs[firstAsk], ddb.scenario("store = repeat: cache miss, warm key")},
		{"store = repeat, stored miss", rep[secondAsk], repCPUs[secondAsk], ddb.scenario("store = repeat: cache miss, stored")},
	}
	t.row("Lambda requests", "", usd(lambdaPerMillionRequests), "", fmt.Sprintf("$%.2f per million", lambdaPerMillionRequests))
	lambda := map[string]float64{}
	for _, c := range cases {
		ms, wait, stretched, share := billedAt(c.wall, c.cpu, memMB)
		d := float64(ms) * perMs
		lambda[c.name] = lambdaPerMillionRequests + d
		t.row(fmt.Sprintf("Lambda duration, %s (%d ms billed)", c.name, ms), "", usd(d), "",
			fmt.Sprintf("handler median %s with %s: %s waiting + %s CPU at a %.2f vCPU share; $%.10f per GB-s",
				fmtDur(c.wall), from, fmtDur(wait), fmtDur(stretched), share, lambdaARMPerGBSecond))
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
	for _, fd := range frontDoors {
		for _, c := range cases {
			s, ok := state[c.name]
			if !ok {
				continue
			}
			l := lambda[c.name]
			t.row(fmt.Sprintf("%s, %s", fd.name, c.name), usd(l+s), usd(l+s+fd.perMillion), ratio(l+s, l+s+fd.perMillion),
				fmt.Sprintf("baseline = Lambda + DynamoDB; the front door adds $%.2f per million", fd.perMillion))
		}
	}
	if ddb.skipped == "" && ddb.ddbCPU[firstAsk] > 0 {
		// What the memory size buys: the handler's CPU time, measured here on
		// a whole core, stretches by fullCPUMB / size on a smaller share; its
		// waiting (on DynamoDB, on the model) does not.
		for _, c := range []struct {
			name      string
			wall, cpu time.Duration
		}{{"cache miss", ddb.ddb[firstAsk], ddb.ddbCPU[firstAsk]}, {"cache hit", ddb.ddb[hit], ddb.ddbCPU[hit]}} {
			cost := func(mb int) (float64, int64, time.Duration, time.Duration, float64) {
				ms, wait, stretched, share := billedAt(c.wall, c.cpu, mb)
				return lambdaPerMillionRequests + float64(ms)*perMsAt(mb), ms, wait, stretched, share
			}
			base, _, _, _, _ := cost(defaultMemoryMB)
			for _, mb := range []int{128, 256, 512, 1024} {
				usdAt, ms, wait, stretched, share := cost(mb)
				mark := ""
				if mb == defaultMemoryMB {
					mark = " (the stack's default)"
				}
				t.row(fmt.Sprintf("Lambda at %d MB, %s%s", mb, c.name, mark), "", usd(usdAt), ratio(base, usdAt),
					fmt.Sprintf("estimated %s billed: %s waiting + %s CPU at a %.2f vCPU share", fmtDur(time.Duration(ms)*time.Millisecond), fmtDur(wait), fmtDur(stretched), share))
			}
		}
	}
	t.row("each further second of duration", "", usd(1000*perMs), "", "an upstream's answer time is billed too: a stream pays for its whole length")
	if initDur > 0 {
		ms := billedMs(initDur)
		t.row(fmt.Sprintf("per million cold starts (INIT %d ms billed)", ms), "", usd(float64(ms)*perMs), "",
			"provided.al2023 bills INIT as duration; INIT measured on this machine, not in Lambda")
	}
	t.note("cost: billed duration = the median in-process handler duration measured above (loopback upstream, so no model "+
		"time) with its CPU time stretched to the memory size's vCPU share (as in the rows by memory size), rounded up to "+
		"Lambda's 1 ms; the cache-hit case is a hit on another instance (its in-process cache cold: "+
		"one more GetItem); with [cache] store = \"repeat\" a miss writes no cache entry and a stored miss (a key's second "+
		"ask of a question, on another instance) writes it, once per question and key while the entry lives. Prices: Lambda arm64 $%.10f per GB-s and $%.2f per million requests; DynamoDB on-demand $%.3f per "+
		"million WRU and $%.3f per million RRU (us-east-1, checked %s). Not included: data transfer, CloudWatch Logs and "+
		"metrics, Secrets Manager, storage, free tiers.",
		lambdaARMPerGBSecond, lambdaPerMillionRequests, ddbPerMillionWRU, ddbPerMillionRRU, pricesChecked)
	t.note("cost by memory size: the handler's CPU time (this process's user + system time, the in-process mock upstream "+
		"included, so an upper bound) measured on a whole core of this machine, stretched by %d MB / size (Lambda's CPU "+
		"share below one vCPU), plus its measured waiting, which no memory size shortens; Lambda requests and duration "+
		"only (the DynamoDB rows are the same at every size). A model's answer time is waiting too: at 256 MB each second "+
		"of it costs half what it costs at 512 MB.", fullCPUMB)
}
