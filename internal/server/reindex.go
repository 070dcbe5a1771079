package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/state/dynamo"
)

// ReindexKeys is `reindex-keys`: the configuration as the server loads it
// (defaults, the file, the environment), which must name a DynamoDB table,
// and dynamo.ReindexKeys on it, with the caller's own AWS credentials; it
// prints what it moved.
func ReindexKeys(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("gateway reindex-keys", flag.ContinueOnError)
	cfgPath := fs.String("config", getenv(config.FileEnv), "TOML configuration file (default: $GATEWAY_CONFIG); the environment applies over it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return err
	}
	if cfg.Store.Kind != "dynamodb" {
		return fmt.Errorf("reindex-keys: the store is %q: set GATEWAY_STORE=dynamodb and TABLE_NAME (or [store] in the file)", cfg.Store.Kind)
	}
	client, err := dynamo.NewClient(ctx, cfg.Store.Endpoint)
	if err != nil {
		return fmt.Errorf("reindex-keys: %w", err)
	}
	moved, left, err := dynamo.ReindexKeys(ctx, client, cfg.Store.Table)
	fmt.Fprintf(out, "table %s: %d keys moved into the key index%s\n", cfg.Store.Table, len(moved), list(moved))
	if len(left) > 0 {
		fmt.Fprintf(out, "%d left as they were (the new index holds another key under the same id)%s\n", len(left), list(left))
	}
	return err
}

func list(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ": " + strings.Join(ids, ", ")
}
