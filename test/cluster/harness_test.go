package cluster

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/odh-training/odh-training/internal/certs"
)

func TestKwokConfigRenders(t *testing.T) {
	cfg := kwokConfig("/tmp/default.log", "---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: Metric\nmetadata:\n  name: metrics-resource\nspec:\n  path: /metrics/nodes/{nodeName}/metrics/resource\n")
	if regexp.MustCompile(`@[A-Z_]+@`).MatchString(cfg) {
		t.Fatalf("placeholders left in kwok config:\n%s", cfg)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(cfg), 4096)
	var names []string
	for {
		var doc struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		names = append(names, doc.Kind+"/"+doc.Metadata.Name)
	}
	want := []string{
		"Stage/odh-pod-start", "Stage/odh-pod-exit", "Stage/odh-pod-image-pull-error", "Stage/odh-pod-restart", "Stage/odh-pod-unready",
		"Stage/odh-pod-ready", "Stage/odh-pod-terminate", "Stage/odh-pod-delete",
		"ClusterResourceUsage/odh-usage-from-annotations", "Metric/metrics-resource", "ClusterLogs/odh-default-logs",
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("kwok config documents = %v, want %v", names, want)
	}
	for _, a := range []string{AnnotationExitCode, AnnotationRestartCount, AnnotationReady, AnnotationStartDelay, AnnotationPodReason, AnnotationPodMessage, UnpullableRegistry, AnnotationUsageCPU, AnnotationUsageMemory} {
		if !strings.Contains(cfg, a) {
			t.Errorf("kwok config does not use annotation %s", a)
		}
	}
}

func TestCRILog(t *testing.T) {
	got := string(criLog(mustTime(t), "a\nb\n"))
	want := "2026-01-02T03:04:05Z stdout F a\n2026-01-02T03:04:05Z stdout F b\n"
	if got != want {
		t.Errorf("criLog = %q, want %q", got, want)
	}
}

func TestPKIReusedAndVerifiable(t *testing.T) {
	dir := t.TempDir()
	p1, err := EnsurePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := EnsurePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range identities() {
		if p1.Tokens[id.Name] == "" || p1.Tokens[id.Name] != p2.Tokens[id.Name] {
			t.Errorf("token of %s not stable across loads", id.Name)
		}
	}
	ca, err := certs.ReadCert(p2.Path(pkiCACert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for cert, host := range map[string]string{pkiAPIServerCert: "kubernetes.default.svc", pkiKwokCert: "127.0.0.1"} {
		c, err := certs.ReadCert(p2.Path(cert))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("%s for %s: %v", cert, host, err)
		}
	}
	b, err := os.ReadFile(p2.Path(pkiTokens))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `,admin,uid-admin,system:masters`) {
		t.Errorf("tokens.csv lacks the admin line:\n%s", b)
	}
}

func TestPatchOperatorHealthAddr(t *testing.T) {
	orig := "package app\n\nfunc x() {\n\tserver := &http.Server{\n\t\tAddr:    fmt.Sprintf(\":%d\", healthCheckPort),\n\t}\n}\n"
	got, err := patchOperatorHealthAddr(orig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "Addr:    odhHealthCheckAddr(),") || !strings.Contains(got, operatorHealthAddrEnv) {
		t.Errorf("patched text:\n%s", got)
	}
	if _, err := patchOperatorHealthAddr("package app\n"); err == nil {
		t.Error("patching a file without the address line succeeded")
	}
}

func TestFindLayout(t *testing.T) {
	t.Setenv("ODH_REPO_ROOT", "")
	l, err := FindLayout("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Root, "test", "cluster", "tools", "kubernetes", "go.mod")); err != nil {
		t.Errorf("root %s: %v", l.Root, err)
	}
}

func mustTime(t *testing.T) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, "2026-01-02T03:04:05Z")
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestRestartLoop(t *testing.T) {
	bin, args := restartLoop("/x/bin/cluster/kueue", "--config=c.yaml")
	p := &Process{Binary: bin, Args: args}
	if got, ok := loopedBinary(p); !ok || got != "/x/bin/cluster/kueue" {
		t.Errorf("loopedBinary = %q, %v", got, ok)
	}
	if !strings.Contains(args[1], "odh-cluster: kueue exited") || args[len(args)-1] != "--config=c.yaml" {
		t.Errorf("args %q", args)
	}
	if _, ok := loopedBinary(&Process{Binary: "/x/bin/cluster/kwok", Args: []string{"--config=k"}}); ok {
		t.Error("a plain process is not a restart loop")
	}
}
