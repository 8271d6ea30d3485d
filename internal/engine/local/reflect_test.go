package local

import (
	"reflect"
	"testing"
)

// assertNoSharedMemory fails when a and b (deep copies) share a pointer,
// slice backing array or map anywhere, and when a reference field of a is
// left empty (the test would then not cover it).
func assertNoSharedMemory(t *testing.T, path string, a, b any) {
	t.Helper()
	walkShared(t, path, reflect.ValueOf(a), reflect.ValueOf(b))
}

func walkShared(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			if path != "MPIJob.Upstream" {
				t.Errorf("%s is nil in the test job: set it so the clone of it is checked", path)
			}
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the job and its clone", path)
		}
		walkShared(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() == 0 {
			t.Errorf("%s is empty in the test job: set it so the clone of it is checked", path)
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the job and its clone", path)
		}
		for i := range a.Len() {
			walkShared(t, path+"[]", a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Len() == 0 {
			t.Errorf("%s is empty in the test job: set it so the clone of it is checked", path)
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the job and its clone", path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			walkShared(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}
