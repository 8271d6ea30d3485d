package kube

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/podpolicy"
)

type onePolicy struct {
	p   *podpolicy.Policy
	err error
}

func (o onePolicy) For(_ context.Context, ns string) (*podpolicy.Policy, podpolicy.Env, error) {
	return o.p, podpolicy.Env{Namespace: ns}, o.err
}

// The pods the translation makes meet the restricted level — and so
// OpenShift's restricted-v2 — by default: every golden output passes a
// policy that allows the secrets, tolerations and priority classes its
// spec names; only root SSH (TranslateOptions.RootSSH) needs baseline.
func TestTranslatedPodsPassRestricted(t *testing.T) {
	ins, _ := filepath.Glob("testdata/translate/*.in.yaml")
	allowing := &podpolicy.Policy{Name: "team-a", Spec: podpolicy.TrainingPolicySpec{
		AllowedSecrets:         []string{"s3-creds"},
		AllowedPriorityClasses: []string{"high"},
		AllowedTolerations:     []podpolicy.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var opts TranslateOptions
			root := strings.HasPrefix(name, "opts-root-")
			opts.RootSSH = root
			j := parseJob(t, string(data))
			u, err := Translate(j, opts)
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{opts: Options{PodPolicies: onePolicy{p: allowing}}}
			err = e.checkPods(t.Context(), j, u)
			if root {
				if !job.IsKind(err, job.KindForbidden) {
					t.Fatalf("root SSH passed the restricted level: %v", err)
				}
				baseline := &podpolicy.Policy{Name: "b", Spec: podpolicy.TrainingPolicySpec{PodSecurity: podpolicy.LevelBaseline}}
				err = (&Engine{opts: Options{PodPolicies: onePolicy{p: baseline}}}).checkPods(t.Context(), j, u)
			}
			if err != nil {
				t.Errorf("translated pods refused: %v", err)
			}
		})
	}
}

// A high-level job's refusal names the fields of the high-level spec, once
// each (the launcher and the workers share them).
func TestPodPolicyRefusalNamesHighLevelFields(t *testing.T) {
	data, err := os.ReadFile("testdata/translate/openmpi-full.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j := parseJob(t, string(data))
	u, err := Translate(j, TranslateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	capped := podpolicy.Default()
	capped.Spec.MaxPerJob = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("4")}
	err = (&Engine{opts: Options{PodPolicies: onePolicy{p: capped}}}).checkPods(t.Context(), j, u)
	var je *job.Error
	if !errors.As(err, &je) || je.Kind != job.KindForbidden {
		t.Fatalf("error %v, want Forbidden", err)
	}
	var got []string
	for _, f := range je.Fields {
		got = append(got, f.Type+" "+f.Field)
	}
	want := []string{
		"Forbidden spec.scheduling.priorityClass",
		"Forbidden spec.volumes[3].secret",
		"Forbidden spec.tolerations[0]",
		"Forbidden spec.workers.resources",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields (-want +got):\n%s\n%v", d, err)
	}
	for _, m := range []string{`MPIJob "mnist" violates the policy of namespace team-a (the default pod policy), so nothing was created`,
		`secret "s3-creds" is not one the default policy`, "8 of nvidia.com/gpu in total (Worker: 4 × 2;", "docs/admin/pod-policy.md"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error lacks %q:\n%v", m, err)
		}
	}

	// A policy that cannot be decided refuses too.
	err = (&Engine{opts: Options{PodPolicies: onePolicy{err: errors.New("two policies")}}}).checkPods(t.Context(), j, u)
	if !job.IsKind(err, job.KindForbidden) || !strings.Contains(err.Error(), "two policies") {
		t.Errorf("undecided policy: %v", err)
	}
}

// Raw manifests are checked as odh-webhook's mutation leaves them: a job
// whose sshd runs as a non-root user passes without writing the security
// settings out.
func TestPodPolicyRawManifestDefaulted(t *testing.T) {
	doc := `apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata: {name: raw, namespace: team-a}
spec:
  sshAuthMountPath: /home/mpiuser/.ssh
  mpiReplicaSpecs:
    Launcher:
      replicas: 1
      template: {spec: {containers: [{name: l, image: quay.io/x/y:1, command: [mpirun, -n, "1", hostname]}]}}
    Worker:
      replicas: 1
      template: {spec: {containers: [{name: w, image: quay.io/x/y:1}]}}
`
	j := parseJob(t, doc)
	u, err := Translate(j, TranslateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{opts: Options{PodPolicies: onePolicy{p: podpolicy.Default()}}}
	if err := e.checkPods(t.Context(), j, u); err != nil {
		t.Errorf("non-root raw manifest: %v", err)
	}
	root := strings.Replace(doc, "/home/mpiuser/.ssh", "/root/.ssh", 1)
	j = parseJob(t, root)
	if u, err = Translate(j, TranslateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = e.checkPods(t.Context(), j, u)
	if !job.IsKind(err, job.KindForbidden) || !strings.Contains(err.Error(), "spec.mpiReplicaSpecs[Worker].template.spec.securityContext.runAsNonRoot") {
		t.Errorf("root raw manifest: %v", err)
	}
}
