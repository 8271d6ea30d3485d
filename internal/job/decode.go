package job

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checkShape walks a decoded JSON document against the Go type it will be
// decoded into and reports every unknown field and every value of the wrong
// type, with its path, so that users see all their mistakes at once instead
// of the first one the JSON decoder happens to hit.
func checkShape(doc any, t reflect.Type, path string) FieldErrors {
	var errs FieldErrors
	walkShape(doc, t, path, &errs)
	return errs
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	quantityType = reflect.TypeFor[Quantity]()
)

func walkShape(v any, t reflect.Type, path string, errs *FieldErrors) {
	if v == nil { // null is accepted everywhere and means "not set"
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			*errs = append(*errs, typeError(path, v, "an RFC 3339 time such as \"2026-01-02T15:04:05Z\""))
		}
		return
	case t == quantityType:
		switch v.(type) {
		case string, json.Number:
		default:
			*errs = append(*errs, typeError(path, v, "a quantity such as \"500m\", \"2\" or \"16Gi\""))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, typeError(path, v, "an object"))
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				*errs = append(*errs, unknownField(join(path, k), k, fields))
				continue
			}
			walkShape(obj[k], ft, join(path, k), errs)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, typeError(path, v, "an object of key: value pairs"))
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkShape(obj[k], t.Elem(), path+"["+strconv.Quote(k)+"]", errs)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			*errs = append(*errs, typeError(path, v, "a list"))
			return
		}
		for i, e := range arr {
			walkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			*errs = append(*errs, typeError(path, v, "a string (quote it)"))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			*errs = append(*errs, typeError(path, v, "true or false"))
		}
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			*errs = append(*errs, typeError(path, v, "a whole number"))
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			if _, ferr := n.Float64(); ferr == nil && !strings.ContainsAny(n.String(), "eE") && strings.Contains(n.String(), ".") {
				*errs = append(*errs, FieldError{Field: path, Type: FieldInvalid, Value: n.String(), Message: fmt.Sprintf("must be a whole number, got %s", n)})
				return
			}
			*errs = append(*errs, FieldError{Field: path, Type: FieldInvalid, Value: n.String(), Message: fmt.Sprintf("must be a whole number between %d and %d, got %s", minInt(t.Bits()), maxInt(t.Bits()), n)})
		}
	}
}

func minInt(bits int) int64 { return -1 << (bits - 1) }
func maxInt(bits int) int64 { return 1<<(bits-1) - 1 }

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// jsonFields maps the JSON names of a struct's fields to their types,
// following embedded structs; fields tagged "-" are not part of the document.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func typeError(path string, v any, want string) FieldError {
	return FieldError{Field: path, Type: FieldInvalid, Value: render(v), Message: fmt.Sprintf("must be %s, got %s", want, describe(v))}
}

func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "the string " + strconv.Quote(x)
	case json.Number:
		return "the number " + x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprintf("%v", v)
}

func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "{...}"
	case []any:
		return "[...]"
	}
	return fmt.Sprint(v)
}

func unknownField(path, key string, known map[string]reflect.Type) FieldError {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	msg := fmt.Sprintf("unknown field %q", key)
	if s := closest(key, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; known fields here: " + strings.Join(names, ", ")
	}
	return FieldError{Field: path, Type: FieldUnknown, Value: key, Message: msg}
}

// closest returns the candidate nearest to s by edit distance (ignoring
// case), if it is near enough to be a likely typo.
func closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
