package top_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/top"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, args ...string) error {
	cmd := top.NewCmdTop(env.F, nil)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestTop(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	create := func(name string, suspend bool, command ...string) {
		t.Helper()
		_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{
			Metadata: job.ObjectMeta{Name: name},
			Spec:     job.Spec{Command: command, Workers: job.WorkerSpec{Replicas: job.Ptr[int32](2)}, RunPolicy: job.RunPolicy{Suspend: suspend}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	create("busy", false, "bash", "-c", "while [ $SECONDS -lt 8 ]; do :; done")
	create("held", true, "true")

	// A table row per replica once both workers have burnt CPU: at least 20m
	// at peak, far above an idle process (0m) yet within a busy loop's share of
	// a loaded CI machine.
	row := regexp.MustCompile(`(?m)^worker-(\d)\s+(\d+)m\s+(\d+)Mi\s+(\d+)m\s+(\d+)Mi\s+(\d+)$`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		env.Out.Reset()
		err := exec(env, "mpijob", "busy")
		busy := 0
		for _, m := range row.FindAllStringSubmatch(env.Out.String(), -1) {
			if peak, _ := strconv.Atoi(m[4]); peak >= 20 {
				busy++
			}
		}
		if err == nil && busy == 2 && strings.HasPrefix(env.Out.String(), "REPLICA") && strings.Contains(env.Out.String(), "\nlauncher ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("top never showed both workers busy: err %v\n%s", err, env.Out)
		}
		time.Sleep(time.Second)
	}

	env.Out.Reset()
	if err := exec(env, "mpijob", "busy", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Available bool `json:"available"`
		Replicas  []struct {
			Name string `json:"name"`
		} `json:"replicas"`
	}
	if err := json.Unmarshal(env.Out.Bytes(), &doc); err != nil || !doc.Available || len(doc.Replicas) != 3 {
		t.Fatalf("-o json: %v\n%s", err, env.Out)
	}
	env.Out.Reset()
	if err := exec(env, "mpijob", "busy", "-o", "yaml"); err != nil || !strings.Contains(env.Out.String(), "available: true") {
		t.Fatalf("-o yaml: %v\n%s", err, env.Out)
	}

	env.Out.Reset()
	if err := exec(env, "mpijob", "busy", "-o", `go-template={{range .replicas}}{{.name}} {{end}}{{if .available}}ok{{end}}`); err != nil || env.Out.String() != "launcher worker-0 worker-1 ok" {
		t.Fatalf("-o go-template: %v\n%q", err, env.Out)
	}
	env.Out.Reset()
	if err := exec(env, "mpijob", "busy", "-o", "jsonpath={.replicas[*].name}"); err != nil || env.Out.String() != "launcher worker-0 worker-1\n" {
		t.Fatalf("-o jsonpath: %v\n%q", err, env.Out)
	}

	// Errors: unknown job, a job that never ran, a bad -o.
	err := exec(env, "mpijob", "ghost")
	if cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), "odh training list") {
		t.Errorf("unknown job: %v", err)
	}
	err = exec(env, "mpijob", "held")
	if cmdutil.ExitCode(err) != cmdutil.ExitUnavailable || !strings.Contains(err.Error(), "not available yet") || !strings.Contains(err.Error(), "odh training describe mpijob held") {
		t.Errorf("job without samples: %v", err)
	}
	for _, o := range []string{"wide", "name", "custom-columns=N:.name", `go-template={{env "HOME"}}`} {
		if err := exec(env, "mpijob", "busy", "-o", o); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("-o %s: %v", o, err)
		}
	}
}
