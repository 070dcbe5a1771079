// Package server runs the gateway as a plain HTTP server (make run): the
// embedded default that needs no AWS at all.
package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
)

// New wraps a handler in an http.Server with protections against slow
// clients and oversized headers.
func New(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Main is the local server's entry point: flags, configuration, listen, and
// a graceful stop on SIGINT/SIGTERM; or, as `reindex-keys`, ReindexKeys.
func Main(args []string, getenv func(string) string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "reindex-keys" {
		return ReindexKeys(ctx, args[1:], getenv, os.Stdout)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	g, cfg, addr, err := setup(ctx, args, getenv, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := New(g)
	log.Info("gateway listening", "addr", ln.Addr().String(), "config", cfg.Source,
		"providers", g.Router.Providers(), "models", g.Router.Models(),
		"auth", cfg.Auth.Enabled, "store", cfg.Store.Kind, "cache", CacheState(cfg))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// setup is Main up to listening: the flags, the configuration (config.Load,
// the loading path every entry point shares: defaults, the file, the
// environment), the gateway and the address to listen on.
func setup(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger) (*app.App, *config.Config, string, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfgPath := fs.String("config", getenv(config.FileEnv), "TOML configuration file (default: $GATEWAY_CONFIG); the environment applies over it")
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:$PORT, $PORT default 8080; set HOST=0.0.0.0 to listen on every interface)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, "", err
	}
	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return nil, nil, "", err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
		fmt.Fprintln(os.Stderr, "WARNING:", w)
	}
	g, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return nil, nil, "", err
	}
	if *addr == "" {
		host := getenv("HOST")
		if host == "" {
			host = "127.0.0.1"
		}
		*addr = net.JoinHostPort(host, fmt.Sprint(cfg.Server.Port))
	}
	return g, cfg, *addr, nil
}

// CacheState says in the start-up log whether answers are cached, and how.
func CacheState(cfg *config.Config) string {
	if !cfg.Cache.Enabled {
		return "off ([cache] enabled = true or GATEWAY_CACHE=true turns it on)"
	}
	stored := ""
	if cfg.Store.Kind != "memory" {
		stored = map[string]string{config.CacheStoreFirst: ", stored on every miss", config.CacheStoreRepeat: ", stored when a key asks again"}[cfg.Cache.Store]
	}
	return fmt.Sprintf("on (%s store, ttl %s, scope %s%s; [cache] enabled = false or GATEWAY_CACHE=false turns it off)",
		cfg.Store.Kind, cfg.Cache.TTL, cfg.Cache.Scope, stored)
}
