// Package testutil is the test set-up that several packages' tests share:
// DynamoDB Local (its endpoint, clients, tables, the emulator's folder), a
// goroutine-safe output buffer and the module's root folder. Only tests
// import it. It imports internal/state/dynamo, so that package's own
// internal (package dynamo) tests cannot use it; its external tests can.
package testutil

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
)

// LogBuffer collects output that goroutines write while others read it: a
// logger's lines, a child process's stdout and stderr. The zero value is
// ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// modulePath is the first line of the module's go.mod.
const modulePath = "module github.com/aigateway/gateway\n"

// ModuleRoot walks up from the working directory (a test's is its package's
// folder) to the folder holding the module's go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte(modulePath)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod of github.com/aigateway/gateway) above the working directory")
		}
		dir = parent
	}
}

// RepoRoot is ModuleRoot for a test: it fails the test when there is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// SSEHandler answers as an SSE stream of events `data: {"n":1}` events, then
// calls then (which may panic, to test recovery mid-stream).
func SSEHandler(events int, then func(w http.ResponseWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for range events {
			_, _ = io.WriteString(w, "data: {\"n\":1}\n\n")
		}
		then(w)
	}
}

var cacheTable = regexp.MustCompile(`(?m)^[ \t]*\[cache\][ \t]*(#.*)?$`)

// CacheOffUnlessSet returns a test's TOML with the response cache turned
// off unless the TOML has a [cache] table of its own. The gateway caches by
// default; a test that counts upstream calls or fails over between them
// states the cache it wants, and these fixtures want none unless they say so.
func CacheOffUnlessSet(toml string) string {
	if cacheTable.MatchString(toml) {
		return toml
	}
	return toml + "\n[cache]\nenabled = false\n"
}
