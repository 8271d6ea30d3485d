package kube

import (
	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// NewClients builds the clients for one identity (cfg's).
func NewClients(cfg *rest.Config) (*Clients, error) {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mc, err := mpiclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Kube: kc, MPI: mc, Dynamic: dc}, nil
}
