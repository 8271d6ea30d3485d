//go:build integration

package cluster_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

func dynClient(t *testing.T, identity string) *dynamic.DynamicClient {
	t.Helper()
	d, err := harness.Dynamic(identity)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustObject(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := utilyaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatalf("%v\n%s", err, manifest)
	}
	return u
}

// waitFor polls cond every 500ms for up to timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not after %s (last error: %v)", what, timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
