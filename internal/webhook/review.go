package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
)

// maxReviewBytes bounds an AdmissionReview body. The API server's own
// object limit is about 3 MiB; a review carries the object twice (updates).
const maxReviewBytes = 8 << 20

// decodeReview reads an AdmissionReview request body. Every malformed body
// is an error (the caller answers 400), never a panic.
func decodeReview(contentType string, body io.Reader) (*admissionv1.AdmissionReview, error) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("content type %q: an AdmissionReview is sent as application/json", contentType)
	}
	data, err := io.ReadAll(io.LimitReader(body, maxReviewBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	if len(data) > maxReviewBytes {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxReviewBytes)
	}
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&review); err != nil {
		return nil, fmt.Errorf("not an AdmissionReview: %w", err)
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, errors.New("not an AdmissionReview: data after the JSON object")
	}
	switch review.APIVersion {
	case "admission.k8s.io/v1", "admission.k8s.io/v1beta1":
	default:
		return nil, fmt.Errorf("apiVersion %q: expected admission.k8s.io/v1", review.APIVersion)
	}
	if review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("kind %q: expected AdmissionReview", review.Kind)
	}
	if review.Request == nil {
		return nil, errors.New("the AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, errors.New("the AdmissionReview request has no uid")
	}
	return &review, nil
}

// serveReview answers AdmissionReviews with admit.
func serveReview(admit func(context.Context, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
			return
		}
		review, err := decodeReview(r.Header.Get("Content-Type"), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := admit(r.Context(), review.Request)
		resp.UID = review.Request.UID
		out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&out)
	})
}
