// Package lambdafn is what the Lambda entry points (functions/api,
// functions/stream) share: building the gateway core from the function's
// environment, its config file and the provider-key secret, the adapters from
// Lambda events to that one http.Handler, and reporting a failed start to the
// Runtime API.
//
// A cold start does this once, in order: when PROVIDER_SECRET_ARN is set,
// fetch that one Secrets Manager secret (a JSON object of environment-style
// names to values, e.g. {"OPENAI_API_KEY":"sk-..."}); load the configuration
// the way every entry point does (config.Load: defaults, then the file
// GATEWAY_CONFIG names, relative to LAMBDA_TASK_ROOT, then the environment),
// where the secret's entries answer "${VAR}" references and the provider
// variables but never set a gateway setting; refuse to start with
// authentication off unless the stack said so; build the gateway. Nothing
// else calls AWS during init, and every client is built once and reused by
// every invocation of the execution environment.
package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdaurl"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/metrics"
)

// New builds the gateway core for a Lambda function from getenv (os.Getenv in
// the functions) and, when PROVIDER_SECRET_ARN is set, the provider secret.
// Logs go to stdout as JSON lines (CloudWatch Logs).
func New(ctx context.Context, getenv func(string) string) (http.Handler, error) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	secret, err := ReadSecret(ctx, getenv, log)
	if err != nil {
		return nil, err
	}
	cfg, err := Load(getenv, secret, log)
	if err != nil {
		return nil, err
	}
	return Build(ctx, cfg, log)
}

// ErrAuthOff is why a function refuses to start with authentication off.
var ErrAuthOff = errors.New("authentication is off (auth.enabled = false or GATEWAY_AUTH=false): a deployed " +
	"gateway would serve anyone who finds its URL without a key, so it refuses to start. Turn authentication on " +
	"([auth] enabled = true, GATEWAY_AUTH=true; the CDK stack sets it), or deploy with `-c openAccess=true` " +
	"(" + config.OpenAccessEnv + "=true) to serve without keys on purpose")

// Load is the configuration of a function: config.Load over getenv, with
// the file named by GATEWAY_CONFIG (ConfigPath) and the entries of the
// provider secret that may reach it (SecretEntries) answering before the
// environment. It fails with ErrAuthOff when authentication ends up off and
// the function's own environment does not set GATEWAY_OPEN_ACCESS=true.
func Load(getenv func(string) string, secret map[string]string, log *slog.Logger) (*config.Config, error) {
	kept, ignored := SecretEntries(secret)
	if len(ignored) > 0 {
		log.Warn("provider secret: entries ignored: gateway settings come from the stack and the config file, "+
			"never from the secret (it holds provider keys and the values a config file names with ${VAR})",
			"names", ignored)
	}
	cfg, err := config.Load(ConfigPath(getenv), Overlay(getenv, kept))
	if err != nil {
		return nil, err
	}
	if !cfg.Auth.Enabled && getenv(config.OpenAccessEnv) != "true" {
		return nil, ErrAuthOff
	}
	return cfg, nil
}

// ConfigPath is the config file a function loads: GATEWAY_CONFIG, taken
// relative to LAMBDA_TASK_ROOT (where Lambda unpacks the function's zip,
// beside bootstrap) unless absolute; "" without one.
func ConfigPath(getenv func(string) string) string {
	p := getenv(config.FileEnv)
	if root := getenv("LAMBDA_TASK_ROOT"); p != "" && root != "" && !filepath.IsAbs(p) {
		return filepath.Join(root, p)
	}
	return p
}

// Build builds the gateway core from a loaded configuration, logging its
// start-up warnings.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger) (http.Handler, error) {
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	log.Info("gateway configured", "config", cfg.Source, "auth", cfg.Auth.Enabled, "store", cfg.Store.Kind,
		"cache", cfg.Cache.Enabled, "metrics_namespace", cfg.Metrics.Namespace)
	// Metrics go to CloudWatch as Embedded Metric Format lines beside the logs.
	emf := metrics.NewEMFWriter(os.Stdout, cfg.Metrics.Namespace, time.Now)
	a, err := app.New(ctx, cfg, app.Options{Logger: log, Metrics: emf, Lambda: true})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// API adapts h to API Gateway HTTP API events (payload format 2.0). The
// response is buffered by nature: a `stream: true` request gets the whole
// SSE body at once. The request ends before the invocation does (Deadline).
func API(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(Deadline(ClientGone(h))).ProxyWithContext
}

// Stream adapts h to a Function URL with InvokeMode RESPONSE_STREAM: every
// write reaches the client as it happens. A client that disconnects is not
// seen: Lambda goes on reading the response (see internal/runtimeapi), so the
// invocation runs to its end and the execution environment serves the next
// one; what bounds an abandoned stream is the request's deadline, which ends
// before the invocation's (Deadline). h must recover its own panics (the core
// built by Build does).
func Stream(h http.Handler) func(context.Context, *events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	return lambdaurl.Wrap(Deadline(ClientGone(h)))
}

// initErrorTimeout bounds the report of a failed start.
const initErrorTimeout = 2 * time.Second

// Exit reports err as the function's init error to the Lambda Runtime API
// (when AWS_LAMBDA_RUNTIME_API is set), prints it on stderr and exits with
// status 1. The functions call it when New fails, so the failure reads as
// the gateway's own message instead of "Runtime exited".
func Exit(err error) {
	fmt.Fprintln(os.Stderr, "gateway:", err)
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		if rerr := ReportInitError(api, err); rerr != nil {
			fmt.Fprintln(os.Stderr, "gateway: reporting the init error:", rerr)
		}
	}
	os.Exit(1)
}

// InitErrorType is the error type a failed start is reported with.
const InitErrorType = "Runtime.GatewayInitError"

// ReportInitError posts err to the Runtime API's /runtime/init/error.
func ReportInitError(api string, err error) error {
	body, _ := json.Marshal(map[string]any{
		"errorMessage": err.Error(), "errorType": InitErrorType, "stackTrace": []string{},
	})
	ctx, cancel := context.WithTimeout(context.Background(), initErrorTimeout)
	defer cancel()
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", InitErrorType)
	resp, rerr := http.DefaultClient.Do(req)
	if rerr != nil {
		return rerr
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("runtime API answered %s", resp.Status)
	}
	return nil
}
