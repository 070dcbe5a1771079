package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/testutil"
)

// procStatusKB reads a "Name:   123 kB" field of /proc/<pid>/status in bytes.
func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// maxOpenFiles reads the soft "Max open files" limit of a process.
func maxOpenFiles(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if f[0] == "unlimited" {
					return 1 << 30, nil
				}
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, errors.New("no Max open files limit")
}

// gatewayProcess is functions/local running as its own process.
type gatewayProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	exited chan struct{}
}

// startGatewayProcess runs bin with --addr 127.0.0.1:0 and the configuration
// in cfgPath (GATEWAY_CONFIG), and waits for its "gateway listening" log line.
func startGatewayProcess(bin, cfgPath, home string) (*gatewayProcess, error) {
	p := &gatewayProcess{stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "--addr", "127.0.0.1:0")
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GATEWAY_CONFIG=" + cfgPath}
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "gateway listening" && line.Addr != "" {
				addrc <- line.Addr
				break
			}
		}
		// Keep reading: the server logs a line per request, and a full pipe
		// would stall it.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case p.addr = <-addrc:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("the gateway exited at start: %s", strings.TrimSpace(p.stderr.String()))
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, errors.New("no \"gateway listening\" line within 15 s")
	}
}

// stop asks for a graceful stop, then kills after 5 s.
func (p *gatewayProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

type rssResult struct {
	idle, peak       int64
	asked, streams   int // streams asked for, and after the file-descriptor limit
	peakOpen         int
	errors           int64
	took             time.Duration
	limitOwn, limitG int
}

func rssPhase(b *testing.B, t *table, bin string, buildErr error) {
	t.section("rss", "functions/local as its own process; VmRSS from /proc/<pid>/status; baseline = the same process idle")
	if bin == "" {
		why := "build failed"
		if buildErr != nil {
			why += ": " + firstLine(buildErr.Error())
		}
		t.row("idle → concurrent streams", "", "skipped", "", why)
		return
	}
	res, err := measureRSS(b, bin)
	if err != nil {
		t.row("idle → concurrent streams", "", "failed", "", firstLine(err.Error()))
		return
	}
	note := fmt.Sprintf("%d streams open at the peak; errors %d; %s", res.peakOpen, res.errors, res.took.Round(10*time.Millisecond))
	if res.streams < res.asked {
		note += fmt.Sprintf("; %d asked, cut to fit the open-file limit", res.asked)
	}
	t.row(fmt.Sprintf("RSS idle → %d concurrent streams", res.streams), fmtBytes(res.idle), fmtBytes(res.peak),
		fmt.Sprintf("+%s (×%.2f)", fmtBytes(res.peak-res.idle), float64(res.peak)/float64(max(res.idle, 1))), note)
	per := int64(0)
	if res.peakOpen > 0 {
		per = (res.peak - res.idle) / int64(res.peakOpen)
	}
	t.row("RSS per open stream", "", fmtBytes(per), "", "(peak − idle) / streams open at the peak")
	b.ReportMetric(float64(per), "rss-bytes-per-stream")
	t.note("rss: idle = after one non-stream and one stream request; peak = the highest VmRSS sampled every 20 ms while the "+
		"streams ran (Go's heap grows ahead of the live data, so this is what the OS sees, not the live heap); "+
		"open-file limits: this process %d, the gateway %d (each stream takes one descriptor here and two in the gateway).",
		res.limitOwn, res.limitG)
}

func measureRSS(b *testing.B, bin string) (rssResult, error) {
	res := rssResult{asked: envInt("BENCH_RSS_STREAMS", 1000)}
	chunks := envInt("BENCH_RSS_CHUNKS", 11)
	gap := time.Duration(envInt("BENCH_RSS_GAP_MS", 200)) * time.Millisecond
	up := mockUpstream(b)
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "gateway.toml")
	cfg := fmt.Sprintf(`
[[providers]]
name = "up"
kind = "custom"
base_url = %q
models = ["bench"]

[[providers]]
name = "slow"
kind = "custom"
base_url = %q
models = ["bench-slow"]
`, up, up+timedPath(chunks, gap))
	if os.Getenv("BENCH_RSS_CACHE") == "off" {
		// The cache keeps an accumulator per stream on a miss: compare like
		// with like against a build whose cache was off by default.
		cfg = testutil.CacheOffUnlessSet(cfg)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return res, err
	}
	p, err := startGatewayProcess(bin, cfgPath, dir)
	if err != nil {
		return res, err
	}
	defer p.stop()
	pid := p.cmd.Process.Pid
	base := "http://" + p.addr + "/v1/chat/completions"

	// Stay within both processes' open-file limits (ulimit -n): a stream
	// holds one descriptor here (client) plus one here (the mock upstream's
	// side), and two in the gateway.
	if res.limitOwn, err = maxOpenFiles(os.Getpid()); err != nil {
		return res, err
	}
	if res.limitG, err = maxOpenFiles(pid); err != nil {
		return res, err
	}
	res.streams = max(min(res.asked, (res.limitOwn-256)/2, (res.limitG-64)/2), 1)

	progress("rss: %d concurrent streams held %s each", res.streams, time.Duration(chunks-1)*gap)
	tr := &http.Transport{MaxConnsPerHost: res.streams + 16, MaxIdleConnsPerHost: res.streams + 16,
		MaxIdleConns: res.streams + 16, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for _, body := range []string{chatBody, streamBody} {
		if _, _, err := oneWith(c, base, body); err != nil {
			return res, fmt.Errorf("warm-up request: %w", err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	var idle []int64
	for i := 0; i < 3; i++ {
		v, err := procStatusKB(pid, "VmRSS")
		if err != nil {
			return res, err
		}
		idle = append(idle, v)
		time.Sleep(50 * time.Millisecond)
	}
	res.idle = min(idle[0], idle[1], idle[2])

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(chunks)*gap+60*time.Second)
	defer cancel()
	var (
		open, peakOpen atomic.Int64
		errs           atomic.Int64
		wg             sync.WaitGroup
		peak           atomic.Int64
	)
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := procStatusKB(pid, "VmRSS"); err == nil && v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	body := streamBodyFor("bench-slow")
	start := time.Now()
	for i := 0; i < res.streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				errs.Add(1)
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			if _, err := br.ReadSlice('\n'); err != nil || resp.StatusCode != 200 {
				errs.Add(1)
				return
			}
			n := open.Add(1)
			for {
				m := peakOpen.Load()
				if n <= m || peakOpen.CompareAndSwap(m, n) {
					break
				}
			}
			_, err = io.Copy(io.Discard, br)
			open.Add(-1)
			if err != nil {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	res.took = time.Since(start)
	close(done)
	<-sampled
	res.peak, res.peakOpen, res.errors = peak.Load(), int(peakOpen.Load()), errs.Load()
	return res, nil
}

// oneWith is one() on another client.
func oneWith(c *http.Client, url, body string) (int, time.Duration, error) {
	start := time.Now()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != 200 {
		return resp.StatusCode, 0, fmt.Errorf("status %d: %s", resp.StatusCode, firstLine(string(b)))
	}
	return resp.StatusCode, time.Since(start), nil
}
