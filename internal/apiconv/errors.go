package apiconv

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/odh-training/odh-training/internal/job"
)

// ErrorDomain names our errors in google.rpc.ErrorInfo.
const ErrorDomain = "training.opendatahub.io"

var kindCodes = map[job.ErrorKind]codes.Code{
	job.KindInvalid:         codes.InvalidArgument,
	job.KindBadRequest:      codes.InvalidArgument,
	job.KindNotFound:        codes.NotFound,
	job.KindAlreadyExists:   codes.AlreadyExists,
	job.KindConflict:        codes.Aborted,
	job.KindForbidden:       codes.PermissionDenied,
	job.KindUnauthenticated: codes.Unauthenticated,
	job.KindQuotaExceeded:   codes.ResourceExhausted,
	job.KindUnavailable:     codes.Unavailable,
	job.KindTimeout:         codes.DeadlineExceeded,
	job.KindInternal:        codes.Internal,
	job.KindTooManyRequests: codes.ResourceExhausted,
}

var kindHTTP = map[job.ErrorKind]int{
	job.KindInvalid:         http.StatusUnprocessableEntity,
	job.KindBadRequest:      http.StatusBadRequest,
	job.KindNotFound:        http.StatusNotFound,
	job.KindAlreadyExists:   http.StatusConflict,
	job.KindConflict:        http.StatusConflict,
	job.KindForbidden:       http.StatusForbidden,
	job.KindUnauthenticated: http.StatusUnauthorized,
	job.KindQuotaExceeded:   http.StatusForbidden,
	job.KindUnavailable:     http.StatusServiceUnavailable,
	job.KindTimeout:         http.StatusGatewayTimeout,
	job.KindInternal:        http.StatusInternalServerError,
	job.KindTooManyRequests: http.StatusTooManyRequests,
}

// Classify turns any error into a *job.Error: classified errors pass through,
// context errors and gRPC statuses are mapped, anything else is Internal with
// a generic message (the detail stays in Err for the server log).
func Classify(err error) *job.Error {
	var e *job.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.DeadlineExceeded):
		return &job.Error{Kind: job.KindTimeout, Message: "the operation timed out", Err: err}
	case errors.Is(err, context.Canceled):
		return &job.Error{Kind: job.KindTimeout, Message: "the operation was cancelled", Err: err}
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return FromStatus(st)
	}
	return &job.Error{Kind: job.KindInternal, Message: "internal error: " + err.Error(), Err: err}
}

// HTTPStatus is the HTTP status for an error kind.
func HTTPStatus(k job.ErrorKind) int {
	if s, ok := kindHTTP[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Code is the gRPC code for an error kind.
func Code(k job.ErrorKind) codes.Code {
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return codes.Internal
}

// ToStatus converts an error into a gRPC status carrying the kind
// (ErrorInfo), every field error (BadRequest) and quota violations
// (QuotaFailure), so clients can rebuild the *job.Error exactly.
func ToStatus(err error) *status.Status {
	e := Classify(err)
	st := status.New(Code(e.Kind), e.Message)
	info := &errdetails.ErrorInfo{Reason: string(e.Kind), Domain: ErrorDomain}
	if e.Hint != "" {
		info.Metadata = map[string]string{"hint": e.Hint}
	}
	details := []protoadapt.MessageV1{info}
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Message, Reason: f.Type, LocalizedMessage: &errdetails.LocalizedMessage{Locale: "value", Message: f.Value}})
		}
		details = append(details, br)
	}
	if len(e.Quota) > 0 {
		qf := &errdetails.QuotaFailure{}
		for _, q := range e.Quota {
			qf.Violations = append(qf.Violations, &errdetails.QuotaFailure_Violation{
				Subject:     q.Resource,
				Description: "requested " + q.Requested + ", available " + q.Available,
				QuotaMetric: q.Source,
				QuotaId:     q.Limit,
				QuotaDimensions: map[string]string{
					"requested": q.Requested, "available": q.Available,
				},
			})
		}
		details = append(details, qf)
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		return withDetails
	}
	return st
}

// FromOurService reports whether a status was made by ToStatus (it carries
// our ErrorInfo), as opposed to one made by gRPC or the gateway.
func FromOurService(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return true
		}
	}
	return false
}

// FromStatus rebuilds a *job.Error from a gRPC status made by ToStatus; other
// statuses are classified by their code.
func FromStatus(st *status.Status) *job.Error {
	e := &job.Error{Kind: kindForCode(st.Code()), Message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == ErrorDomain {
				e.Kind = job.ErrorKind(d.GetReason())
				e.Hint = d.GetMetadata()["hint"]
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Fields = append(e.Fields, job.FieldError{Field: v.GetField(), Type: v.GetReason(), Value: v.GetLocalizedMessage().GetMessage(), Message: v.GetDescription()})
			}
		case *errdetails.QuotaFailure:
			for _, v := range d.GetViolations() {
				e.Quota = append(e.Quota, job.QuotaViolation{
					Resource: v.GetSubject(), Requested: v.GetQuotaDimensions()["requested"],
					Available: v.GetQuotaDimensions()["available"], Limit: v.GetQuotaId(), Source: v.GetQuotaMetric(),
				})
			}
		}
	}
	return e
}

func kindForCode(c codes.Code) job.ErrorKind {
	for k, code := range kindCodes {
		if code == c && k != job.KindBadRequest && k != job.KindTooManyRequests {
			return k
		}
	}
	switch c {
	case codes.Canceled:
		return job.KindTimeout
	case codes.FailedPrecondition:
		return job.KindConflict
	}
	return job.KindInternal
}

// ErrorBody is the JSON body of every REST error response.
type ErrorBody struct {
	Code        int                  `json:"code"`
	Status      string               `json:"status"`
	Reason      job.ErrorKind        `json:"reason"`
	Message     string               `json:"message"`
	FieldErrors []job.FieldError     `json:"fieldErrors,omitempty"`
	Quota       []job.QuotaViolation `json:"quota,omitempty"`
	Hint        string               `json:"hint,omitempty"`
}

// Body builds the REST error body and HTTP status for an error.
func Body(err error) (int, ErrorBody) {
	e := Classify(err)
	c := Code(e.Kind)
	return HTTPStatus(e.Kind), ErrorBody{
		Code: int(c), Status: codeName(c), Reason: e.Kind, Message: e.Message,
		FieldErrors: e.Fields, Quota: e.Quota, Hint: e.Hint,
	}
}

// FromBody rebuilds a *job.Error from a REST error body.
func FromBody(b ErrorBody) *job.Error {
	kind := b.Reason
	if kind == "" {
		kind = kindForCode(codes.Code(b.Code))
	}
	return &job.Error{Kind: kind, Message: b.Message, Fields: b.FieldErrors, Quota: b.Quota, Hint: b.Hint}
}

func codeName(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.Aborted:
		return "ABORTED"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	}
	return "INTERNAL"
}
