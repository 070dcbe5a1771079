package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/statetest"
)

// buildGateway compiles the local server once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gateway-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "gateway")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "../../functions/local").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// instance is one gateway process.
type instance struct {
	cmd  *exec.Cmd
	addr string
}

// startInstance runs the gateway binary on a loopback port with env and waits
// for it to answer /health.
func startInstance(t *testing.T, bin string, env []string) *instance {
	t.Helper()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "gateway listening" {
				addrc <- line.Addr
				sent = true
			}
		}
	}()
	select {
	case addr := <-addrc:
		return &instance{cmd: cmd, addr: "http://" + addr}
	case <-time.After(30 * time.Second):
		t.Fatal("gateway process did not start listening")
		return nil
	}
}

func TestExactLimitAcrossFourInstancesSharingDynamoDB(t *testing.T) {
	ep := statetest.Endpoint(t)
	ctx := context.Background()
	client, err := dynamo.NewClient(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("gw-e2e-limits-%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	// A fixed hourly window: stay clear of the hour's edge so all 500
	// requests land in one window.
	if until := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); until < 30*time.Second {
		time.Sleep(until + time.Second)
	}
	const admin = "e2e-admin-key-0123456789"
	env := []string{
		"GATEWAY_STORE=dynamodb", "TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + ep,
		"GATEWAY_AUTH=true", "GATEWAY_ADMIN_KEY=" + admin,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"OPENAI_API_KEY=", "GEMINI_API_KEY=", "ANTHROPIC_API_KEY=", "GOOGLE_API_KEY=",
	}
	bin := gatewayBinary(t)
	var insts []*instance
	for i := 0; i < 4; i++ {
		insts = append(insts, startInstance(t, bin, env))
	}
	req, _ := http.NewRequest("POST", insts[0].addr+"/admin/keys", strings.NewReader(`{"name":"limit-proof","limits":{"rph":100}}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Key string `json:"key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created.Key == "" {
		t.Fatalf("create key: %d", resp.StatusCode)
	}

	const total = 500
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 60 * time.Second}
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < total; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			body := fmt.Sprintf(`{"model":"mock-echo","messages":[{"role":"user","content":"request %d"}]}`, i)
			r, _ := http.NewRequest("POST", insts[i%len(insts)].addr+"/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+created.Key)
			resp, err := hc.Do(r)
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			default:
				other.Add(1)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if ok.Load() != 100 || limited.Load() != 400 || other.Load() != 0 {
		t.Fatalf("admitted %d, limited %d, other %d; want exactly 100 and 400", ok.Load(), limited.Load(), other.Load())
	}
}
