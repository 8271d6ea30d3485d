package podpolicy

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// The CRD's schema (deploy/policy/crd.yaml) has exactly the fields of the Go
// types, at every level: a field in one and not the other would be pruned
// by the API server or refused by Parse.
func TestCRDSchemaMatchesTypes(t *testing.T) {
	data, err := os.ReadFile("../../deploy/policy/crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind   string `json:"kind"`
				Plural string `json:"plural"`
			} `json:"names"`
			Scope    string `json:"scope"`
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	s := crd.Spec
	if s.Group != Group || s.Names.Kind != Kind || s.Names.Plural != Resource || s.Scope != "Cluster" || len(s.Versions) != 1 || s.Versions[0].Name != Version {
		t.Fatalf("CRD names %+v", s)
	}
	root := s.Versions[0].Schema.OpenAPIV3Schema
	spec := dig(t, root, "properties", "spec")
	compareSchema(t, "spec", reflect.TypeFor[TrainingPolicySpec](), spec)
}

func dig(t *testing.T, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("schema has no %s", strings.Join(keys, "."))
		}
		m = next
	}
	return m
}

func compareSchema(t *testing.T, path string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == reflect.TypeFor[resource.Quantity]() {
		if schema["x-kubernetes-int-or-string"] != true {
			t.Errorf("%s: a quantity must be int-or-string", path)
		}
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		props, _ := schema["properties"].(map[string]any)
		var names []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Fatalf("%s.%s has no JSON name", path, f.Name)
			}
			names = append(names, name)
			sub, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is not in the CRD schema", path, name)
				continue
			}
			compareSchema(t, path+"."+name, f.Type, sub)
		}
		for name := range props {
			if !slices.Contains(names, name) {
				t.Errorf("%s.%s is in the CRD schema but not in the Go type", path, name)
			}
		}
	case reflect.Slice:
		if schema["type"] != "array" {
			t.Errorf("%s: type %v, want array", path, schema["type"])
		}
		items, _ := schema["items"].(map[string]any)
		compareSchema(t, path+"[]", typ.Elem(), items)
	case reflect.Map:
		if schema["type"] != "object" {
			t.Errorf("%s: type %v, want object", path, schema["type"])
		}
		add, _ := schema["additionalProperties"].(map[string]any)
		compareSchema(t, path+"{}", typ.Elem(), add)
	case reflect.String:
		if schema["type"] != "string" {
			t.Errorf("%s: type %v, want string", path, schema["type"])
		}
	default:
		t.Errorf("%s: no schema check for %s", path, typ)
	}
}
