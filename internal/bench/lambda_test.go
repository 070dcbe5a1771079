package bench

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/runtimeapi"
	"github.com/aigateway/gateway/internal/testutil"
)

// lambdaFlags are the Makefile's LAMBDA_BUILD flags.
var lambdaFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// minimalPkg is the baseline bootstrap: the smallest aws-lambda-go function.
const minimalPkg = "./internal/bench/testdata/minimal"

type binSize struct {
	raw, zipped int64
}

// lambdaResult holds what buildAll built (in a temporary folder).
type lambdaResult struct {
	localServer string // functions/local for this machine
	streamHost  string // functions/stream bootstrap for this machine
	minimalHost string
	arm64       map[string]binSize // "api", "stream", "minimal": linux/arm64, stripped
	buildErr    error
	buildTook   time.Duration
	initGateway time.Duration // median INIT of the stream bootstrap (0 when not measured)
}

// goBuild builds pkg (relative to the module root) for goos/goarch into out.
func goBuild(root, out, pkg, goos, goarch string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (%s/%s): %v\n%s", pkg, goos, goarch, err, bytes.TrimSpace(b))
	}
	return nil
}

// zipSize zips bin as "bootstrap" (deflate, no extra attributes, like
// `zip -X`) into dst and returns the archive's size.
func zipSize(bin, dst string) (int64, error) {
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	fh := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	fh.SetMode(0o755)
	w, err := zw.CreateHeader(fh)
	if err != nil {
		return 0, err
	}
	src, err := os.Open(bin)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	if _, err := io.Copy(w, src); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// buildAll builds what the rss and lambda phases run, into a temporary folder.
func buildAll(b *testing.B) lambdaResult {
	res := lambdaResult{arm64: map[string]binSize{}}
	root, err := testutil.ModuleRoot()
	if err != nil {
		res.buildErr = err
		return res
	}
	dir := b.TempDir()
	host := func(name, pkg string, flags ...string) (string, error) {
		out := filepath.Join(dir, "host", name, "bootstrap")
		return out, goBuild(root, out, pkg, runtime.GOOS, runtime.GOARCH, flags...)
	}
	if phaseOn("rss") {
		// As `make build-local` builds it.
		if res.localServer, err = host("local", "./functions/local", "-trimpath"); err != nil {
			res.localServer, res.buildErr = "", err
			return res
		}
	}
	if !phaseOn("lambda") {
		return res
	}
	if res.streamHost, err = host("stream", "./functions/stream", lambdaFlags...); err != nil {
		res.streamHost, res.buildErr = "", err
		return res
	}
	if res.minimalHost, err = host("minimal", minimalPkg, lambdaFlags...); err != nil {
		res.minimalHost, res.buildErr = "", err
		return res
	}
	// As `make build-lambda` builds them.
	for name, pkg := range map[string]string{"api": "./functions/api", "stream": "./functions/stream", "minimal": minimalPkg} {
		out := filepath.Join(dir, "arm64", name, "bootstrap")
		if err := goBuild(root, out, pkg, "linux", "arm64", lambdaFlags...); err != nil {
			res.buildErr = err
			return res
		}
		st, err := os.Stat(out)
		if err != nil {
			res.buildErr = err
			return res
		}
		z, err := zipSize(out, filepath.Join(dir, "arm64", name+".zip"))
		if err != nil {
			res.buildErr = err
			return res
		}
		res.arm64[name] = binSize{raw: st.Size(), zipped: z}
	}
	return res
}

// initOnce starts bin against a fresh Runtime API emulator with exactly env
// and returns the time from process start to its first GET next.
func initOnce(bin string, env []string) (time.Duration, error) {
	api, err := runtimeapi.Start()
	if err != nil {
		return 0, err
	}
	defer api.Close()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + api.Addr()}, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	select {
	case <-api.Ready():
		d := api.FirstNext().Sub(start)
		stop()
		return d, nil
	case ie := <-api.InitError():
		stop()
		return 0, fmt.Errorf("init error: %v", ie)
	case err := <-exited:
		return 0, fmt.Errorf("exited during init (%v): %s", err, strings.TrimSpace(logs.String()))
	case <-time.After(10 * time.Second):
		stop()
		return 0, errors.New("no GET next within Lambda's 10 s init limit")
	}
}

func lambdaPhase(b *testing.B, t *table, lam *lambdaResult) {
	runs := envInt("BENCH_INIT_RUNS", 5)
	t.section("lambda", fmt.Sprintf("INIT = process start → first GET next on the Runtime API emulator, median of %d; "+
		"baseline = a minimal aws-lambda-go bootstrap built the same way", runs))
	if lam.buildErr != nil {
		t.row("INIT and sizes", "", "skipped", "", "build failed: "+firstLine(lam.buildErr.Error()))
		return
	}
	progress("lambda: INIT of the stream bootstrap and the minimal one, %d runs each", runs)
	// The function's configuration as the stack deploys it (DynamoDB store,
	// auth and cache on), from a file; the provider-secret read of a real
	// cold start (one Secrets Manager call) is left out.
	up := mockUpstream(b)
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "gateway.toml")
	cfg := fmt.Sprintf(`
[[providers]]
name = "up"
kind = "custom"
base_url = %q
models = ["bench"]

[auth]
enabled = true

[cache]
enabled = true

[store]
kind = "dynamodb"
table = "ai-gateway-bench"
`, up)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GATEWAY_CONFIG=" + cfgPath,
		"AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"_HANDLER=bootstrap", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench",
	}
	var gw, base []time.Duration
	var initErr error
	for i := 0; i < runs && initErr == nil; i++ {
		// Alternate, so that a burst of machine load hits both alike.
		var d time.Duration
		if d, initErr = initOnce(lam.minimalHost, env); initErr == nil {
			base = append(base, d)
			if d, initErr = initOnce(lam.streamHost, env); initErr == nil {
				gw = append(gw, d)
			}
		}
	}
	if initErr != nil {
		t.row("INIT", "", "failed", "", firstLine(initErr.Error()))
	} else {
		mb, mg := median(base), median(gw)
		lam.initGateway = mg
		t.row(fmt.Sprintf("INIT, stream bootstrap, median of %d", runs), fmtDur(mb), fmtDur(mg), deltaRatio(mb, mg),
			fmt.Sprintf("gateway min %s max %s; %s/%s build", fmtDur(pct(gw, 0)), fmtDur(pct(gw, 1)), runtime.GOOS, runtime.GOARCH))
		b.ReportMetric(float64(mg.Microseconds())/1000, "init-ms")
	}
	m := lam.arm64["minimal"]
	for _, name := range []string{"api", "stream"} {
		s := lam.arm64[name]
		t.row(name+" bootstrap, linux/arm64 stripped", fmtBytes(m.raw), fmtBytes(s.raw), ratio(float64(m.raw), float64(s.raw)),
			fmt.Sprintf("%d bytes", s.raw))
		t.row(name+".zip (deflate)", fmtBytes(m.zipped), fmtBytes(s.zipped), ratio(float64(m.zipped), float64(s.zipped)),
			fmt.Sprintf("%d bytes; direct-upload limit 50 MB", s.zipped))
	}
	t.note("lambda: built with CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build %s (as make build-lambda); zip sizes from Go's "+
		"archive/zip at its default deflate level (make build-lambda's zip may differ by a few KiB); INIT measured on a %s/%s "+
		"build of the same code on this machine, with the deployed configuration (DynamoDB store, auth, cache) minus the "+
		"Secrets Manager read; builds took %s.", strings.Join(lambdaFlags, " "), runtime.GOOS, runtime.GOARCH, lam.buildTook.Round(100*time.Millisecond))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
