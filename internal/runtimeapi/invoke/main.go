// Command invoke runs a built Lambda `bootstrap` as a local process against
// the Runtime API emulator, sends it one event and prints the response as it
// streams: status and headers on stderr, the body on stdout. It is what
// `make invoke FN=<function> EVENT=events/<function>/<file>.json` runs.
//
// The process inherits this environment (so OPENAI_API_KEY and friends
// configure the gateway as with `make run`), then the event's own settings
// from the .env file beside it when there is one (events/api/missing-key.env
// turns authentication on), plus AWS_LAMBDA_RUNTIME_API and the usual
// AWS_LAMBDA_* variables.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/aigateway/gateway/internal/runtimeapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run() error {
	bootstrap := flag.String("bootstrap", "", "path of the built bootstrap to run")
	timeout := flag.Duration("timeout", 5*time.Minute, "invocation deadline")
	raw := flag.Bool("raw", false, "print the Runtime API response as the function sent it")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: invoke -bootstrap path/to/bootstrap event.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *bootstrap == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	event, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		return err
	}
	if !json.Valid(event) {
		return fmt.Errorf("%s is not valid JSON", flag.Arg(0))
	}

	eventEnv, err := runtimeapi.EventEnv(flag.Arg(0))
	if err != nil {
		return err
	}
	for _, kv := range eventEnv {
		fmt.Fprintln(os.Stderr, "invoke: with", kv, "(from the event's .env file)")
	}

	api, err := runtimeapi.Start()
	if err != nil {
		return err
	}
	defer api.Close()
	api.Timeout = *timeout

	cmd := exec.Command(*bootstrap)
	cmd.Env = append(append(os.Environ(), eventEnv...),
		"AWS_LAMBDA_RUNTIME_API="+api.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME="+filepath.Base(filepath.Dir(*bootstrap)),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"_HANDLER=bootstrap",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // the function's logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer stop(cmd, exited)

	select {
	case <-api.Ready():
		fmt.Fprintf(os.Stderr, "INIT %s\n", api.FirstNext().Sub(start).Round(100*time.Microsecond))
	case ie := <-api.InitError():
		return fmt.Errorf("init failed: %v", ie)
	case <-exited:
		return fmt.Errorf("the bootstrap exited during init: %v", waitErr)
	case <-time.After(10 * time.Second):
		return errors.New("the bootstrap did not ask for an event within 10s (Lambda's init limit)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	inv, err := api.Invoke(ctx, event)
	if err != nil {
		return err
	}
	defer inv.Body.Close()
	switch {
	case *raw:
		if _, err := copyAsItArrives(os.Stdout, inv.Body); err != nil {
			return err
		}
	case inv.Streaming():
		br := bufio.NewReader(inv.Body)
		p, err := runtimeapi.ReadPrelude(br)
		if err != nil {
			return err
		}
		printHead(p.StatusCode, p.Header(), p.Cookies)
		if _, err := copyAsItArrives(os.Stdout, br); err != nil {
			return err
		}
	default:
		body, err := io.ReadAll(inv.Body)
		if err != nil {
			return err
		}
		printBuffered(body)
	}
	if err := inv.Err(); err != nil {
		return fmt.Errorf("the function reported an error: %v", err)
	}
	fmt.Fprintf(os.Stderr, "\nDURATION %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// copyAsItArrives writes each chunk as soon as it is read.
func copyAsItArrives(w io.Writer, r io.Reader) (int64, error) {
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func printHead(status int, headers http.Header, cookies []string) {
	fmt.Fprintf(os.Stderr, "HTTP %d\n", status)
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range headers[k] {
			fmt.Fprintf(os.Stderr, "%s: %s\n", k, v)
		}
	}
	for _, c := range cookies {
		fmt.Fprintf(os.Stderr, "Set-Cookie: %s\n", c)
	}
	fmt.Fprintln(os.Stderr)
}

// printBuffered prints an API Gateway proxy response (status, headers, the
// decoded body); anything else is printed as it is.
func printBuffered(body []byte) {
	var resp struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if json.Unmarshal(body, &resp) != nil || resp.StatusCode == 0 {
		_, _ = os.Stdout.Write(body)
		return
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h[k] = []string{v} // as sent: no canonical names
	}
	printHead(resp.StatusCode, h, resp.Cookies)
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			out = b
		}
	}
	_, _ = os.Stdout.Write(out)
}

// stop ends the bootstrap: SIGTERM, then SIGKILL after a second.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}
