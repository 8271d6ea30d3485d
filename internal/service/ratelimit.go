package service

import (
	"fmt"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

func tooManyRequests(user string, wait time.Duration) *job.Error {
	return &job.Error{
		Kind:    job.KindTooManyRequests,
		Message: fmt.Sprintf("too many requests from %q: slow down and retry in %s", user, wait.Round(time.Millisecond)),
		Hint:    "The server limits requests per user (odh-server --rate-limit).",
	}
}
