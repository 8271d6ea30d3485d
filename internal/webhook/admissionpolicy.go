package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Namespace annotations that set the admission policy of one namespace.
// They override the policy file field by field. Only those who may update
// Namespace objects (cluster administrators, not namespace admins) can set
// them.
const (
	// AnnotationAllowedRegistries is a comma-separated list of registries
	// or repository prefixes ("quay.io", "registry.example.com/team-a/").
	AnnotationAllowedRegistries = "training.opendatahub.io/allowed-registries"
	// AnnotationMaxWorkers caps spec.mpiReplicaSpecs[Worker].replicas.
	AnnotationMaxWorkers = "training.opendatahub.io/max-workers"
	// AnnotationMaxGPUs caps the GPUs one job requests in total
	// (workers × per worker + launcher).
	AnnotationMaxGPUs = "training.opendatahub.io/max-gpus-per-job"
)

// Rules are the admission rules of one namespace. Unset fields mean no limit.
type Rules struct {
	// AllowedRegistries lists registries ("quay.io") or repository
	// prefixes ("quay.io/team-a/") every container image must come from.
	// Images without a registry are docker.io images. Empty allows all.
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
	MaxWorkers        *int32   `json:"maxWorkers,omitempty"`
	MaxGPUsPerJob     *int64   `json:"maxGPUsPerJob,omitempty"`
}

// PolicyConfig is the webhook's --policy-file: rules for every namespace
// and per namespace (a namespace's entry replaces the defaults field by
// field).
//
//	{
//	  "defaults":   {"allowedRegistries": ["quay.io", "registry.example.com"], "maxWorkers": 64},
//	  "namespaces": {"team-a": {"allowedRegistries": ["quay.io/team-a/"], "maxWorkers": 8, "maxGPUsPerJob": 16}}
//	}
type PolicyConfig struct {
	Defaults   Rules            `json:"defaults"`
	Namespaces map[string]Rules `json:"namespaces,omitempty"`
}

// LoadPolicyConfig reads a policy file; "" means no file (no limits).
func LoadPolicyConfig(path string) (*PolicyConfig, error) {
	if path == "" {
		return &PolicyConfig{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	var c PolicyConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return &c, nil
}

// merge overlays o's set fields on r.
func (r Rules) merge(o Rules) Rules {
	if o.AllowedRegistries != nil {
		r.AllowedRegistries = o.AllowedRegistries
	}
	if o.MaxWorkers != nil {
		r.MaxWorkers = o.MaxWorkers
	}
	if o.MaxGPUsPerJob != nil {
		r.MaxGPUsPerJob = o.MaxGPUsPerJob
	}
	return r
}

// rulesFromAnnotations reads the namespace annotations; malformed values
// are errors (the job is rejected: a policy that does not parse must not
// silently allow everything).
func rulesFromAnnotations(a map[string]string) (Rules, error) {
	var r Rules
	if v, ok := a[AnnotationAllowedRegistries]; ok {
		r.AllowedRegistries = []string{}
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				r.AllowedRegistries = append(r.AllowedRegistries, s)
			}
		}
	}
	if v, ok := a[AnnotationMaxWorkers]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 1 {
			return r, fmt.Errorf("namespace annotation %s=%q is not a positive whole number", AnnotationMaxWorkers, v)
		}
		w := int32(n)
		r.MaxWorkers = &w
	}
	if v, ok := a[AnnotationMaxGPUs]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return r, fmt.Errorf("namespace annotation %s=%q is not a whole number", AnnotationMaxGPUs, v)
		}
		r.MaxGPUsPerJob = &n
	}
	return r, nil
}

// NamespaceAnnotations returns a namespace's annotations.
type NamespaceAnnotations interface {
	Annotations(ctx context.Context, namespace string) (map[string]string, error)
}

// rulesFor combines the policy file and the namespace's annotations.
func (c *PolicyConfig) rulesFor(ctx context.Context, ns string, nsa NamespaceAnnotations) (Rules, error) {
	r := c.Defaults
	if o, ok := c.Namespaces[ns]; ok {
		r = r.merge(o)
	}
	if nsa == nil {
		return r, nil
	}
	a, err := nsa.Annotations(ctx, ns)
	if err != nil {
		return r, err
	}
	o, err := rulesFromAnnotations(a)
	if err != nil {
		return r, err
	}
	return r.merge(o), nil
}

// normalizeImage returns the image with its registry spelled out the way
// container runtimes resolve it ("ubuntu" is "docker.io/library/ubuntu").
func normalizeImage(image string) string {
	first, rest, found := strings.Cut(image, "/")
	if !found {
		return "docker.io/library/" + image
	}
	if !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io/" + first + "/" + rest
	}
	return image
}

// registryAllowed reports whether image comes from one of the allowed
// registries or repository prefixes.
func registryAllowed(image string, allowed []string) bool {
	img := normalizeImage(image)
	for _, a := range allowed {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if strings.HasSuffix(a, "/") {
			if strings.HasPrefix(img, a) {
				return true
			}
			continue
		}
		if strings.HasPrefix(img, a+"/") {
			return true
		}
	}
	return false
}
