package server_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// BenchmarkListPage measures one REST page of 50 jobs out of 1,000 stored.
func BenchmarkListPage(b *testing.B) {
	s := startServerB(b)
	ctx := authed(b.Context())
	for i := 0; i < 1000; i++ {
		_, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Job: apiconv.ToProto(&job.MPIJob{Metadata: job.ObjectMeta{Name: fmt.Sprintf("j-%d", i)}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}})})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("GET", s.url+"/api/v1/namespaces/default/mpijobs?pageSize=50", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
