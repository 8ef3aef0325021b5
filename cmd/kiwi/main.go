// Command kiwi builds appliance images from KIWI descriptions, keeping
// every root tree as an OCI layer stack.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiwi-go/kiwi/internal/userns"
	"go.podman.io/storage/pkg/reexec"
)

// commandName is the name kiwi was called by in its help and errors:
// kiwi, or kiwi-ng for the scripts written for KIWI NG (hack/install.sh
// links that name). The copy running in a user namespace is started as
// NAME-in-a-user-namespace (internal/userns).
func commandName(arg0 string) string {
	if userns.CommandName(arg0) == "kiwi-ng" {
		return "kiwi-ng"
	}
	return "kiwi"
}

// version is set at link time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

func main() {
	// Storage applies layers in a re-executed child (chrootarchive):
	// when this process is that child, do its work and stop here.
	if reexec.Init() {
		return
	}
	// SIGINT and SIGTERM cancel the context: every stage stops its child
	// processes, removes its temporary files and returns an error.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(commandName(os.Args[0]), version).ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, commandName(os.Args[0])+": error:", err)
		if interrupted {
			os.Exit(130)
		}
		os.Exit(1)
	}
}
