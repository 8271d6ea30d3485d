// An empty stand-in for k8s.io/sample-apiserver: k8s.io/kubernetes v1.32.7
// lists it in its module graph, the Go module proxy here does not serve
// v0.32.7, and nothing the scheduler builds imports it.
module k8s.io/sample-apiserver

go 1.23
