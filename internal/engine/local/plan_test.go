package local

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

func TestMakePlan(t *testing.T) {
	ompi := &mpiInstall{impl: job.OpenMPI, path: "/usr/bin/mpiexec.openmpi", flavour: flavourOpenMPI}
	hydra := &mpiInstall{impl: job.MPICH, path: "/usr/bin/mpiexec.hydra", flavour: flavourHydra}
	cases := []struct {
		name             string
		in               *mpiInstall
		workers, slots   int32
		command          []string
		wantPrefix       []string
		wantProgram      []string
		wantWrapped      bool
		wantWarning      string
		wantErrSubstring string
	}{
		{
			name: "plain program, Open MPI", in: ompi, workers: 2, slots: 1,
			command:    []string{"python3", "train.py"},
			wantPrefix: []string{"/usr/bin/mpiexec.openmpi", "-np", "2", "--bind-to", "none"}, wantProgram: []string{"python3", "train.py"}, wantWrapped: true,
		},
		{
			name: "more ranks than cores oversubscribe", in: ompi, workers: 4, slots: 2,
			command:    []string{"./a.out"},
			wantPrefix: []string{"/usr/bin/mpiexec.openmpi", "-np", "8", "--oversubscribe", "--bind-to", "none"}, wantProgram: []string{"./a.out"}, wantWrapped: true,
		},
		{
			name: "plain program, MPICH", in: hydra, workers: 2, slots: 2,
			command:    []string{"python3", "-c", "print(1)"},
			wantPrefix: []string{"/usr/bin/mpiexec.hydra", "-n", "4"}, wantProgram: []string{"python3", "-c", "print(1)"}, wantWrapped: true,
		},
		{
			name: "generic mpirun replaced, np added", in: hydra, workers: 2, slots: 1,
			command:    []string{"mpirun", "-genv", "A", "1", "-ppn", "1", "python3", "x.py", "-n", "3"},
			wantPrefix: []string{"/usr/bin/mpiexec.hydra", "-n", "2", "-genv", "A", "1", "-ppn", "1"}, wantProgram: []string{"python3", "x.py", "-n", "3"}, wantWrapped: true,
		},
		{
			name: "user np kept, mismatch warned", in: ompi, workers: 2, slots: 1,
			command:    []string{"mpirun", "-np", "3", "-x", "FOO", "--mca", "btl", "self,vader", "--map-by=slot", "./prog"},
			wantPrefix: []string{"/usr/bin/mpiexec.openmpi", "-np", "3", "-x", "FOO", "--mca", "btl", "self,vader", "--map-by=slot"}, wantProgram: []string{"./prog"}, wantWrapped: true,
			wantWarning: "starts 3 ranks but the job asks for 2",
		},
		{
			name: "explicit launcher path kept", in: ompi, workers: 1, slots: 1,
			command:    []string{"/opt/ompi/bin/mpirun", "--allow-run-as-root", "hostname"},
			wantPrefix: []string{"/opt/ompi/bin/mpirun", "-np", "1", "--allow-run-as-root"}, wantProgram: []string{"hostname"}, wantWrapped: true,
		},
		{
			name: "unknown option falls back to tagged output", in: ompi, workers: 2, slots: 1,
			command:    []string{"mpirun", "--report-state-on-timeout", "-np", "2", "hostname"},
			wantPrefix: []string{"/usr/bin/mpiexec.openmpi", "--tag-output", "--report-state-on-timeout", "-np", "2", "hostname"}, wantWrapped: false,
			wantWarning: "cannot parse the options",
		},
		{
			name: "MPMD falls back", in: hydra, workers: 2, slots: 1,
			command:    []string{"mpiexec", "-n", "1", "a", ":", "-n", "1", "b"},
			wantPrefix: []string{"/usr/bin/mpiexec.hydra", "-prepend-rank", "-n", "1", "a", ":", "-n", "1", "b"}, wantWrapped: false,
			wantWarning: "cannot parse the options",
		},
		{
			name: "Open MPI launcher with MPICH job", in: hydra, workers: 1, slots: 1,
			command:          []string{"mpiexec.openmpi", "-np", "1", "x"},
			wantErrSubstring: "mpiexec.openmpi is Open MPI's launcher but spec.mpiImplementation is MPICH",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob("p", tc.workers, tc.slots, tc.in.impl, tc.command...)
			p, err := makePlan(&j.Spec, tc.in, 2)
			if tc.wantErrSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstring) {
					t.Fatalf("want error containing %q, got %v", tc.wantErrSubstring, err)
				}
				if !job.IsKind(err, job.KindInvalid) {
					t.Errorf("error kind %s", job.KindOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantPrefix, p.prefix); diff != "" {
				t.Errorf("prefix (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantProgram, p.program); diff != "" {
				t.Errorf("program (-want +got):\n%s", diff)
			}
			if p.wrapped != tc.wantWrapped {
				t.Errorf("wrapped = %v", p.wrapped)
			}
			if got := strings.Join(p.warnings, "\n"); (tc.wantWarning == "") != (got == "") || !strings.Contains(got, tc.wantWarning) {
				t.Errorf("warnings %q, want %q", got, tc.wantWarning)
			}
			if p.wrapped {
				argv := p.argv("/self", "/state/a/1")
				want := append(append(append([]string{}, tc.wantPrefix...), "/self", RankExecArg, "--dir", "/state/a/1", "--"), tc.wantProgram...)
				if diff := cmp.Diff(want, argv); diff != "" {
					t.Errorf("argv (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestUntag(t *testing.T) {
	cases := []struct {
		fl           flavour
		stream, line string
		rank         int
		wantStream   string
		text         string
		ok           bool
	}{
		{flavourOpenMPI, "stdout", "[1,3]<stderr>:oops: bad", 3, "stderr", "oops: bad", true},
		{flavourOpenMPI, "stdout", "[1,0]<stdout>:", 0, "stdout", "", true},
		{flavourOpenMPI, "stderr", "mpirun noticed that process rank 1", 0, "", "", false},
		{flavourHydra, "stderr", "[12] value [3]", 12, "stderr", "value [3]", true},
		{flavourHydra, "stdout", "[mpiexec@vm] error", 0, "", "", false},
	}
	for _, tc := range cases {
		r, s, text, ok := untag(tc.fl, tc.stream, tc.line)
		if ok != tc.ok || (ok && (r != tc.rank || s != tc.wantStream || text != tc.text)) {
			t.Errorf("untag(%q) = %d %q %q %v", tc.line, r, s, text, ok)
		}
	}
}

func TestParseLauncherFailure(t *testing.T) {
	openmpi := `--------------------------------------------------------------------------
mpiexec.openmpi detected that one or more processes exited with non-zero status, thus causing
the job to be terminated. The first process to do so was:

  Process name: [[4242,1],1]
  Exit code:    3
--------------------------------------------------------------------------
`
	hydra := `===================================================================================
=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES
=   RANK 0 PID 123 RUNNING AT vm
=   EXIT CODE: 9
`
	for name, tc := range map[string]struct {
		text string
		rank int
		code int32
	}{"openmpi": {openmpi, 1, 3}, "hydra": {hydra, 0, 9}} {
		ranks := make([]*rankStatus, 2)
		parseLauncherFailure(tc.text, ranks)
		if s := ranks[tc.rank]; s == nil || s.ExitCode != tc.code || !s.Failed() {
			t.Errorf("%s: rank %d status %+v", name, tc.rank, s)
		}
	}
}
