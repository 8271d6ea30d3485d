// Command odh-cluster builds, starts, inspects and stops the local
// control-plane harness of package test/cluster.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/odh-training/odh-training/test/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cluster.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
