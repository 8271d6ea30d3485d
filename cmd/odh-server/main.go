// Command odh-server is the odh-training Training Service.
package main

import (
	"os"

	"github.com/odh-training/odh-training/internal/odhserver"
)

func main() { os.Exit(odhserver.Main()) }
