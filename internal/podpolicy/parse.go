package podpolicy

import (
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Parse reads one TrainingPolicy (YAML or JSON) and checks it. It returns
// the policy whenever its name and namespace selection could be read, even
// with problems: [Select] then refuses jobs in the namespaces it selects
// instead of ignoring it. Every problem comes with its field path.
func Parse(data []byte) (*Policy, field.ErrorList) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(document, "", "not YAML or JSON: "+err.Error())}
	}
	var tp TrainingPolicy
	strict, err := sigsjson.UnmarshalStrict(j, &tp, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, field.ErrorList{typeError(err)}
	}
	var errs field.ErrorList
	for _, e := range strict {
		errs = append(errs, unknownField(e))
	}
	p := &Policy{Name: tp.Name, Spec: tp.Spec}
	if tp.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), tp.APIVersion, []string{APIVersion}))
	}
	if tp.Kind != Kind {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), tp.Kind, []string{Kind}))
	}
	if tp.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "a TrainingPolicy needs a name"))
		return nil, errs
	}
	for _, m := range validation.IsDNS1123Subdomain(tp.Name) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), tp.Name, m))
	}
	errs = append(errs, p.check()...)
	p.errs = errs
	return p, errs
}

// document is the path of errors about a whole document.
var document = field.NewPath("document")

var typeErrorRE = regexp.MustCompile(`Go struct field [A-Za-z]+\.(\S+) of type (\S+)`)

// typeError turns a decoding error into a field error at the field whose
// value has the wrong type, when the error says which.
func typeError(err error) *field.Error {
	if m := typeErrorRE.FindStringSubmatch(err.Error()); m != nil {
		return field.Invalid(field.NewPath(m[1]), "", "wrong type: must be "+m[2]+" (e.g. a list is written [a, b])")
	}
	return field.Invalid(document, "", "not a TrainingPolicy: "+err.Error())
}

// unknownField turns a strict-decoding error (`unknown field "spec.x"`)
// into a field error at that path.
func unknownField(e error) *field.Error {
	msg := e.Error()
	if _, rest, ok := strings.Cut(msg, `unknown field "`); ok {
		if p, _, ok := strings.Cut(rest, `"`); ok {
			return field.Forbidden(field.NewPath(p), "unknown field: check its spelling against deploy/policy/crd.yaml (a policy with a misspelt field is not used)")
		}
	}
	return field.Invalid(document, "", msg)
}

var (
	secretPrefix = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*)?$`)
	effects      = []string{"", string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}
)

// check validates the spec and compiles the namespace selector.
func (p *Policy) check() field.ErrorList {
	var errs field.ErrorList
	s := &p.Spec
	spec := field.NewPath("spec")
	seen := map[string]bool{}
	for i, ns := range s.Namespaces {
		fp := spec.Child("namespaces").Index(i)
		for _, m := range validation.IsDNS1123Label(ns) {
			errs = append(errs, field.Invalid(fp, ns, m))
		}
		if seen[ns] {
			errs = append(errs, field.Duplicate(fp, ns))
		}
		seen[ns] = true
	}
	if s.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(s.NamespaceSelector)
		if err != nil {
			errs = append(errs, field.Invalid(spec.Child("namespaceSelector"), "", err.Error()))
		} else {
			p.selector = sel
		}
	}
	if len(s.Namespaces) == 0 && s.NamespaceSelector == nil {
		errs = append(errs, field.Required(spec.Child("namespaces"), "name the namespaces the policy is for, or set spec.namespaceSelector ({} selects every namespace)"))
	}
	switch s.PodSecurity {
	case "", LevelRestricted, LevelBaseline:
	case "privileged":
		errs = append(errs, field.Forbidden(spec.Child("podSecurity"), "the privileged level is not available to training jobs (it would let tenants take over nodes); use restricted or baseline"))
	default:
		errs = append(errs, field.NotSupported(spec.Child("podSecurity"), s.PodSecurity, []Level{LevelRestricted, LevelBaseline}))
	}
	for i, pr := range s.SeccompLocalhostProfiles {
		if pr == "" || path.IsAbs(pr) || slices.Contains(strings.Split(pr, "/"), "..") {
			errs = append(errs, field.Invalid(spec.Child("seccompLocalhostProfiles").Index(i), pr, "must be a path relative to the kubelet's seccomp directory, without \"..\" (e.g. \"profiles/mpi.json\")"))
		}
	}
	for i, name := range s.AllowedSecrets {
		fp := spec.Child("allowedSecrets").Index(i)
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			if strings.Contains(prefix, "*") || (prefix != "" && !secretPrefix.MatchString(prefix)) {
				errs = append(errs, field.Invalid(fp, name, "a pattern is a secret name prefix followed by one \"*\" (e.g. \"team-a-data-*\")"))
			}
			continue
		}
		for _, m := range validation.IsDNS1123Subdomain(name) {
			errs = append(errs, field.Invalid(fp, name, m))
		}
	}
	for _, l := range []struct {
		name  string
		items []string
	}{{"allowedServiceAccounts", s.AllowedServiceAccounts}, {"allowedPriorityClasses", s.AllowedPriorityClasses}} {
		for i, name := range l.items {
			for _, m := range validation.IsDNS1123Subdomain(name) {
				errs = append(errs, field.Invalid(spec.Child(l.name).Index(i), name, m))
			}
		}
	}
	for i, t := range s.AllowedTolerations {
		errs = append(errs, checkToleration(spec.Child("allowedTolerations").Index(i), t)...)
	}
	for _, n := range slices.Sorted(maps.Keys(s.MaxPerJob)) {
		fp := spec.Child("maxPerJob").Key(string(n))
		for _, m := range validation.IsQualifiedName(string(n)) {
			errs = append(errs, field.Invalid(fp, n, "resource name: "+m))
		}
		if q := s.MaxPerJob[n]; q.Sign() < 0 {
			errs = append(errs, field.Invalid(fp, q.String(), "must not be negative (0 forbids the resource)"))
		}
	}
	return errs
}

func checkToleration(fp *field.Path, t Toleration) field.ErrorList {
	var errs field.ErrorList
	switch t.Operator {
	case corev1.TolerationOpExists:
		if t.Value != "" {
			errs = append(errs, field.Invalid(fp.Child("value"), t.Value, "must be empty with operator Exists"))
		}
	case "", corev1.TolerationOpEqual:
		if t.Key == "" {
			errs = append(errs, field.Invalid(fp.Child("operator"), string(t.Operator), "a toleration without a key must use operator Exists"))
		}
	default:
		errs = append(errs, field.NotSupported(fp.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpExists, corev1.TolerationOpEqual}))
	}
	if t.Key != "" {
		for _, m := range validation.IsQualifiedName(t.Key) {
			errs = append(errs, field.Invalid(fp.Child("key"), t.Key, m))
		}
	}
	if !slices.Contains(effects, string(t.Effect)) {
		errs = append(errs, field.NotSupported(fp.Child("effect"), t.Effect, []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}))
	}
	return errs
}

// errorsText renders a policy's problems for an error message.
func errorsText(errs field.ErrorList) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}
