// Command local runs the gateway as a plain HTTP server on PORT (default
// 8080) with in-memory state. It is the `make run` entry point, not a Lambda;
// `local reindex-keys` is `make reindex-keys` (see internal/server).
package main

import (
	"fmt"
	"os"

	"github.com/aigateway/gateway/internal/server"
)

func main() {
	if err := server.Main(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
