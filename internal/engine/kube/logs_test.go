package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

func TestParseTimed(t *testing.T) {
	l := parseTimed("2026-11-29T08:54:40.058496013Z hello world")
	if l.text != "hello world" || l.t.Nanosecond() != 58496013 {
		t.Errorf("got %+v", l)
	}
	if l := parseTimed("no timestamp here"); l.text != "no timestamp here" || !l.t.IsZero() {
		t.Errorf("got %+v", l)
	}
}

func TestLineWindow(t *testing.T) {
	var lines []timedLine
	for i := range 10 {
		lines = append(lines, timedLine{t: t0.Add(time.Duration(i) * time.Second), text: string(rune('a' + i))})
	}
	fill := func(w *lineWindow) []timedLine {
		for _, l := range lines {
			_ = w.add(l)
		}
		return w.kept()
	}
	if got := fill(newLineWindow(engine.LogOptions{Since: t0.Add(5 * time.Second), TailLines: new(int32(3))}, 0)); len(got) != 3 || got[0].text != "h" || got[2].text != "j" {
		t.Errorf("since+tail: got %+v", got)
	}
	if got := fill(newLineWindow(engine.LogOptions{Since: t0.Add(8 * time.Second)}, 0)); len(got) != 2 {
		t.Errorf("since: got %d lines", len(got))
	}
	if got := fill(newLineWindow(engine.LogOptions{TailLines: new(int32(0))}, 0)); len(got) != 0 {
		t.Errorf("--tail=0: got %d lines", len(got))
	}
	// A byte budget keeps the newest lines that fit and says what it left out.
	w := newLineWindow(engine.LogOptions{}, 3*(1+lineOverhead))
	if got := fill(w); len(got) != 3 || got[0].text != "h" || w.dropped != 7 {
		t.Errorf("budget: kept %+v, dropped %d", got, w.dropped)
	}
	n, ok := w.notice(logSource{source: "worker-4", worker: 4})
	if !ok || n.Time != t0.Add(7*time.Second) || !strings.Contains(n.Text, "7 earlier lines of worker-4") || !strings.Contains(n.Text, "--worker 4") {
		t.Errorf("notice: %+v", n)
	}
	if _, ok := newLineWindow(engine.LogOptions{}, 0).notice(logSource{}); ok {
		t.Error("a window that dropped nothing has no notice")
	}
}

func TestLineWindowMemoryIsBounded(t *testing.T) {
	// A chatty replica: a million 1 KiB lines through a 1 MiB window.
	w := newLineWindow(engine.LogOptions{}, 1<<20)
	text := strings.Repeat("x", 1024)
	for i := range 1_000_000 {
		_ = w.add(timedLine{t: t0.Add(time.Duration(i)), text: text})
		if w.bytes > 1<<20 {
			t.Fatalf("line %d: window holds %d bytes", i, w.bytes)
		}
	}
	if k := len(w.kept()); k == 0 || k*(1024+lineOverhead) > 1<<20 || cap(w.lines) > 4*k+2048 {
		t.Errorf("kept %d lines in a slice of capacity %d", k, cap(w.lines))
	}
}

func TestWriteCappedKeepsTheEnd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.log")
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", 9) + string(rune('0'+i%10)) + "\n")
	}
	if err := writeCapped(file, strings.NewReader(b.String()), 55); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	// 55 bytes from the end start mid-line: the partial line is dropped.
	if want := strings.Repeat("xxxxxxxxx5\nxxxxxxxxx6\nxxxxxxxxx7\nxxxxxxxxx8\nxxxxxxxxx9\n", 1)[11:]; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAPIError(t *testing.T) {
	gr := schema.GroupResource{Group: "kubeflow.org", Resource: "mpijobs"}
	cases := []struct {
		err  error
		kind job.ErrorKind
		msg  string
	}{
		{apierrors.NewAlreadyExists(gr, "a"), job.KindAlreadyExists, "already exists"},
		{apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "nope"), job.KindNotFound, `namespace "nope" does not exist`},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New("exceeded quota: q")), job.KindQuotaExceeded, "exceeded quota"},
		{apierrors.NewForbidden(gr, "a", errors.New("no")), job.KindForbidden, "forbidden"},
		{apierrors.NewInvalid(schema.GroupKind{Group: "kubeflow.org", Kind: "MPIJob"}, "a", field.ErrorList{field.Invalid(field.NewPath("spec", "x"), 1, "bad")}), job.KindInvalid, "rejected by the Kubernetes API server"},
		{apierrors.NewConflict(gr, "a", errors.New("x")), job.KindConflict, ""},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), job.KindUnavailable, "cannot be reached"},
	}
	for _, tc := range cases {
		err := apiError(tc.err, "op")
		var je *job.Error
		if !errors.As(err, &je) || je.Kind != tc.kind {
			t.Errorf("%v: got %v (%T), want kind %s", tc.err, err, err, tc.kind)
			continue
		}
		if !strings.Contains(je.Error(), tc.msg) {
			t.Errorf("%v: message %q lacks %q", tc.err, je.Error(), tc.msg)
		}
		if tc.kind == job.KindInvalid && (len(je.Fields) != 1 || je.Fields[0].Field != "spec.x") {
			t.Errorf("invalid: fields %+v", je.Fields)
		}
	}
}

func TestEventJobKey(t *testing.T) {
	e := &Engine{}
	cases := map[string]string{
		"MPIJob/train":                 "ns/train",
		"Job/train-launcher":           "ns/train",
		"Job/other":                    "",
		"Pod/train-worker-12":          "ns/train",
		"Pod/train-launcher-x7k2p":     "ns/train",
		"Pod/unrelated":                "",
		"PodGroup/train":               "ns/train",
		"Service/train":                "",
		"Pod/my-job-worker-3-worker-0": "ns/my-job-worker-3",
		"Workload/mpijob-train-3f2a9":  "ns/train",
		"Workload/mpijob-a-b-0c1d2":    "ns/a-b",
		"Workload/pytorchjob-x-3f2a9":  "",
		"Workload/mpijob-train":        "",
	}
	for obj, want := range cases {
		kind, name, _ := strings.Cut(obj, "/")
		ev := &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: "ns"}}
		if kind == "Workload" {
			ev.InvolvedObject.APIVersion = "kueue.x-k8s.io/v1beta2"
		}
		ks, _ := e.eventJobKey(ev)
		got := ""
		if len(ks) > 0 {
			got = ks[0]
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", obj, got, want)
		}
	}
}
