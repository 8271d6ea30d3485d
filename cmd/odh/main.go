// Command odh is the CLI of odh-training. It also works as a kubectl plugin
// when installed as kubectl-odh.
package main

import (
	"os"

	"github.com/odh-training/odh-training/internal/cli/root"
)

func main() { os.Exit(root.Main()) }
