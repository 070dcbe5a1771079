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
// a graceful stop on SIGINT/SIGTERM.
func Main(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfgPath := fs.String("config", getenv("GATEWAY_CONFIG"), "TOML configuration file (default: $GATEWAY_CONFIG, else the environment)")
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:$PORT, $PORT default 8080; set HOST=0.0.0.0 to listen on every interface)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
		fmt.Fprintln(os.Stderr, "WARNING:", w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	if *addr == "" {
		host := getenv("HOST")
		if host == "" {
			host = "127.0.0.1"
		}
		*addr = net.JoinHostPort(host, fmt.Sprint(cfg.Server.Port))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := New(g)
	log.Info("gateway listening", "addr", ln.Addr().String(), "config", cfg.Source,
		"providers", g.Router.Providers(), "models", g.Router.Models())
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
