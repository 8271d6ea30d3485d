package local

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/job"
)

func TestAdmit(t *testing.T) {
	e := newTestEngine(t, nil)
	missing := newTestEngine(t, func(o *Options) {
		o.Launchers = map[job.MPIImplementation]string{job.MPICH: "/nonexistent/mpiexec.hydra"}
	})
	cases := []struct {
		name         string
		e            *Engine
		mod          func(*job.MPIJob)
		wantKind     job.ErrorKind
		wantErr      []string
		wantWarnings []string
	}{
		{name: "plain job", e: e},
		{
			name: "intel not installed", e: e,
			mod:      func(j *job.MPIJob) { j.Spec.MPIImplementation = job.Intel },
			wantKind: job.KindInvalid,
			wantErr:  []string{"spec.mpiImplementation", "Intel MPI is not installed on this machine", "Intel oneAPI MPI", "OpenMPI or MPICH"},
		},
		{
			name: "launcher missing", e: missing,
			mod:      func(j *job.MPIJob) { j.Spec.MPIImplementation = job.MPICH },
			wantKind: job.KindInvalid,
			wantErr:  []string{"/nonexistent/mpiexec.hydra", "apt-get install mpich"},
		},
		{
			name: "more ranks than slots", e: e,
			mod: func(j *job.MPIJob) {
				j.Spec.Workers.Replicas = job.Ptr(int32(3))
				j.Spec.Workers.SlotsPerWorker = job.Ptr(int32(2))
			},
			wantKind: job.KindQuotaExceeded,
			wantErr:  []string{"needs 6 slots", "4 slots in total", "--slots 6"},
		},
		{
			name: "working dir missing", e: e,
			mod:      func(j *job.MPIJob) { j.Spec.WorkingDir = "/nonexistent/dir" },
			wantKind: job.KindInvalid,
			wantErr:  []string{"spec.workingDir", "does not exist on this machine"},
		},
		{
			name: "what is not applied locally", e: e,
			mod: func(j *job.MPIJob) {
				j.Spec.Image = "quay.io/x/y:1"
				j.Spec.Workers.Resources.GPUs = 1
				j.Spec.NodeSelector = map[string]string{"a": "b"}
				j.Spec.Volumes = []job.Volume{
					{Name: "data", MountPath: "/data", PersistentVolumeClaim: "pvc"},
					{Name: "same", MountPath: "/tmp", HostPath: "/tmp"},
					{Name: "moved", MountPath: "/mnt/x", HostPath: "/srv/x"},
				}
			},
			wantWarnings: []string{"spec.image \"quay.io/x/y:1\" is ignored", "GPU requests", "nodeSelector", "spec.volumes[0] (data): only hostPath", "spec.volumes[2] (moved)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob("admit", 2, 1, job.OpenMPI, "python3", "train.py")
			if tc.mod != nil {
				tc.mod(j)
			}
			warnings, err := tc.e.Admit(t.Context(), j)
			if tc.wantKind != "" {
				var je *job.Error
				if !errors.As(err, &je) || je.Kind != tc.wantKind {
					t.Fatalf("want %s error, got %v", tc.wantKind, err)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(je.Error(), s) {
						t.Errorf("error %q does not mention %q", je.Error(), s)
					}
				}
				if _, err := tc.e.Create(t.Context(), j); !job.IsKind(err, tc.wantKind) {
					t.Errorf("Create accepted what Admit rejects: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(warnings, "\n")
			for _, s := range tc.wantWarnings {
				if !strings.Contains(all, s) {
					t.Errorf("warnings %q lack %q", warnings, s)
				}
			}
			if len(tc.wantWarnings) == 0 && len(warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
			if strings.Contains(all, "(same)") {
				t.Errorf("warned about a hostPath mounted at its own path: %q", warnings)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	e := newTestEngine(t, nil)
	info := e.Info(t.Context())
	if info.Name != "local" || !strings.Contains(info.Version, "Open MPI 4.") || !strings.Contains(info.Version, "MPICH 4.") {
		t.Errorf("Info = %+v", info)
	}
}

func TestRelativeCommandUsesWorkDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/run.sh", []byte("#!/bin/sh\necho from script in $(pwd)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, func(o *Options) { o.WorkDir = dir })
	create(t, e, newJob("rel", 1, 1, job.OpenMPI, "./run.sh"))
	j := waitPhase(t, e, "rel", 20e9, job.PhaseSucceeded, job.PhaseFailed)
	if j.Status.Phase != job.PhaseSucceeded {
		t.Fatalf("%s", describe(j))
	}
	if got := texts(logs(t, e, "rel", allLogs)); len(got) != 1 || got[0] != "from script in "+dir {
		t.Errorf("logs %q", got)
	}
}
