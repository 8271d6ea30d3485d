package root

import "github.com/odh-training/odh-training/internal/apiclient"

func apiclientList(namespace string) apiclient.ListOptions {
	if namespace == "" {
		namespace = "default"
	}
	return apiclient.ListOptions{Namespace: namespace}
}
