package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
)

// serve runs srv on a loopback port until the test ends and returns its address.
func serve(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// counting is a handler that counts the requests that reached it.
type counting struct{ n atomic.Int64 }

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	_, _ = io.WriteString(w, "ok")
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestNewSetsProtectionsAgainstSlowClientsAndHugeHeaders(t *testing.T) {
	srv := New(http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout %s: a slow client could hold a connection without end", srv.ReadHeaderTimeout)
	}
	if srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("ReadTimeout %s, IdleTimeout %s: both must be set", srv.ReadTimeout, srv.IdleTimeout)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes %d", srv.MaxHeaderBytes)
	}
	if srv.WriteTimeout != 0 {
		t.Errorf("WriteTimeout %s would cut long streams", srv.WriteTimeout)
	}
}

func TestAClientSendingHeadersByteByByteIsDisconnected(t *testing.T) {
	const headerTimeout = 200 * time.Millisecond
	h := &counting{}
	srv := New(h)
	srv.ReadHeaderTimeout = headerTimeout
	addr := serve(t, srv)

	t.Run("a prompt client is served", func(t *testing.T) {
		conn := dial(t, addr)
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	})

	t.Run("a slow client is cut off", func(t *testing.T) {
		before := h.n.Load()
		conn := dial(t, addr)
		closed := make(chan error, 1)
		go func() {
			// Returns when the server closes the connection, which it may do
			// with an error status (net/http sends 400) but never a success.
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(conn)
			if err != nil && strings.Contains(err.Error(), "connection reset") {
				err = nil
			}
			if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 4") {
				err = errors.New("the server answered: " + string(b))
			}
			closed <- err
		}()
		// The whole header, one byte every 20 ms, takes far longer than the timeout.
		header := "GET /health HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris\r\nX-Pad: " + strings.Repeat("a", 40) + "\r\n\r\n"
		start := time.Now()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		sent, done := 0, false
		var err error
		for !done && sent < len(header) {
			select {
			case err = <-closed:
				done = true
			case <-tick.C:
				if _, werr := conn.Write([]byte{header[sent]}); werr != nil {
					sent = len(header) + 1 // the server hung up: stop writing
					break
				}
				sent++
			}
		}
		if !done {
			select {
			case err = <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("the server never closed the connection")
			}
		}
		took := time.Since(start)
		if err != nil {
			t.Fatalf("after %s: %v", took, err)
		}
		if sent == len(header) {
			t.Fatalf("the whole header went through before the server hung up (%s)", took)
		}
		if took > 10*headerTimeout || took < headerTimeout/2 {
			t.Errorf("disconnected after %s, header timeout %s", took, headerTimeout)
		}
		if h.n.Load() != before {
			t.Error("the slow request reached the handler")
		}
	})
}

// headerRequest sends a GET with one header of size bytes on a raw
// connection and returns the status the server answered.
func headerRequest(t *testing.T, addr string, size int) int {
	t.Helper()
	conn := dial(t, addr)
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		// The server may answer and close before the whole header is written.
		_, _ = io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", size)+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a %d-byte header: %v", size, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHeadersOverMaxHeaderBytesGet431(t *testing.T) {
	h := &counting{}
	srv := New(h)
	addr := serve(t, srv)
	if got := headerRequest(t, addr, srv.MaxHeaderBytes/2); got != http.StatusOK {
		t.Fatalf("a header of half the limit: %d", got)
	}
	// net/http allows 4 KiB of slack over MaxHeaderBytes.
	if got := headerRequest(t, addr, srv.MaxHeaderBytes+8<<10); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a header over the limit: %d, want 431", got)
	}
	if h.n.Load() != 1 {
		t.Errorf("the handler saw %d requests, want only the small one", h.n.Load())
	}
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestAHugeBodyGets413FromTheGatewayBehindTheServer(t *testing.T) {
	cfg, err := config.Parse("[[providers]]\nkind = \"mock\"\nmodels = [\"mock-echo\"]\n", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, New(g))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	limit := cfg.Server.MaxBodyBytes // the default, 10 MiB
	body := io.MultiReader(strings.NewReader(`{"model":"mock-echo","messages":[{"role":"user","content":"`), io.LimitReader(zeros{}, limit+1<<20))
	resp, err := client.Post("http://"+addr+"/v1/chat/completions", "application/json", body)
	if err != nil {
		t.Fatalf("no answer to a %d-byte body: %v", limit+1<<20, err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Type != "invalid_request_error" {
		t.Fatalf("%d %+v, want 413 in OpenAI's error shape", resp.StatusCode, e)
	}
}

// generate posts one /generate request and returns its decoded answer.
func generate(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Post(url+"/generate", "application/json", strings.NewReader(`{"prompt":"Say hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v %v", resp.StatusCode, out, err)
	}
	return out
}

// TestAFreshMakeRunCachesTheSecondIdenticalGenerate is the first seed's
// contract on `make run` with nothing set: the same prompt twice, and the
// second answer says "cached": true. It was false: the cache was off unless
// GATEWAY_CACHE=true.
func TestAFreshMakeRunCachesTheSecondIdenticalGenerate(t *testing.T) {
	for _, tt := range []struct {
		name       string
		env        map[string]string
		wantCached bool
	}{
		{name: "nothing set: the cache is on", env: map[string]string{}, wantCached: true},
		{name: "GATEWAY_CACHE=false turns it off", env: map[string]string{"GATEWAY_CACHE": "false"}, wantCached: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			discard := slog.New(slog.DiscardHandler)
			g, cfg, addr, err := setup(context.Background(), nil, func(k string) string { return tt.env[k] }, discard)
			if err != nil {
				t.Fatal(err)
			}
			if addr != "127.0.0.1:8080" || cfg.Source != "environment" {
				t.Errorf("addr %q, source %q", addr, cfg.Source)
			}
			if state := CacheState(cfg); strings.HasPrefix(state, "on") != tt.wantCached {
				t.Errorf("the start-up log says the cache is %q", state)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			first, second := generate(t, srv.URL), generate(t, srv.URL)
			if first["cached"] != false || second["cached"] != tt.wantCached || first["output"] != second["output"] {
				t.Errorf("first %v\nsecond %v, want the second cached: %v", first, second, tt.wantCached)
			}
		})
	}
}
