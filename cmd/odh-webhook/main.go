// Command odh-webhook is the admission webhook for kubeflow.org/v2beta1
// MPIJobs (docs/admin/security.md).
package main

import (
	"os"

	"github.com/odh-training/odh-training/internal/odhwebhook"
)

func main() { os.Exit(odhwebhook.Main()) }
