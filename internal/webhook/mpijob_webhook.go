package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/podpolicy"
)

// AnnotationCreator records who created an MPIJob. The mutating webhook
// stamps it from the admission request's user; the validating webhook
// rejects a create that sets another user and any update that changes it.
// The Training Service reads the same annotation.
const AnnotationCreator = "training.opendatahub.io/creator"

// Permission that lets its holders change and delete every MPIJob of a
// namespace, not only their own: verb "manage-all" on kubeflow.org
// mpijobs. The MLOps engineer and platform administrator roles of
// deploy/rbac (and the built-in admin role, by aggregation) hold it.
const (
	ManageAllVerb     = "manage-all"
	ManageAllGroup    = "kubeflow.org"
	ManageAllResource = "mpijobs"
)

// exemptGroups are the cluster's own controllers (the namespace controller
// deleting a namespace's jobs, the garbage collector) and cluster admins.
var exemptGroups = []string{"system:masters", "system:serviceaccounts:kube-system"}

// AccessChecker answers whether a user holds the manage-all permission in a
// namespace (a SubjectAccessReview on a cluster).
type AccessChecker interface {
	CanManageAll(ctx context.Context, u authenticationv1.UserInfo, namespace string) (bool, error)
}

// Handler admits kubeflow.org/v2beta1 MPIJobs: Mutate stamps the creator
// and sets OpenShift-safe defaults; Validate runs the Training Service's
// validator, the namespace's policies and the own-job rule.
type Handler struct {
	Policy     *PolicyConfig
	Namespaces NamespaceAnnotations // nil: the policy file alone
	Pods       PodPolicies          // the pod policy (TrainingPolicy); nil: none (tests only)
	Access     AccessChecker        // nil: only creators change their jobs
	Log        *slog.Logger
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func allow(warnings ...string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
}

func deny(code int32, reason metav1.StatusReason, msg string, causes ...metav1.StatusCause) *admissionv1.AdmissionResponse {
	st := &metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}
	if len(causes) > 0 {
		st.Details = &metav1.StatusDetails{Causes: causes}
	}
	return &admissionv1.AdmissionResponse{Allowed: false, Result: st}
}

func forbidden(msg string) *admissionv1.AdmissionResponse {
	return deny(http.StatusForbidden, metav1.StatusReasonForbidden, msg)
}

func isMPIJob(req *admissionv1.AdmissionRequest) bool {
	return req.Resource.Group == kubeflow.GroupName && req.Resource.Resource == "mpijobs" && req.SubResource == ""
}

// Mutate stamps the creator on create and sets defaults.
func (h *Handler) Mutate(_ context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if !isMPIJob(req) || req.Operation != admissionv1.Create {
		return allow()
	}
	var obj map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil || obj == nil {
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, "the MPIJob is not a JSON object")
	}
	var patch []map[string]any
	meta, _ := obj["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	if _, ok := annotations[AnnotationCreator]; !ok && req.UserInfo.Username != "" {
		// The validating webhook rejects a value that is not the caller's.
		na := map[string]any{}
		for k, v := range annotations {
			na[k] = v
		}
		na[AnnotationCreator] = req.UserInfo.Username
		patch = append(patch, map[string]any{"op": "add", "path": "/metadata/annotations", "value": na})
	}
	if spec, ok := obj["spec"].(map[string]any); ok {
		if changed := podpolicy.SetDefaults(spec); changed {
			patch = append(patch, map[string]any{"op": "replace", "path": "/spec", "value": spec})
		}
	}
	resp := allow()
	if len(patch) > 0 {
		data, _ := json.Marshal(patch)
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = data, &pt
	}
	return resp
}

// Validate admits creates, updates and deletes of MPIJobs.
func (h *Handler) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if !isMPIJob(req) {
		return allow()
	}
	switch req.Operation {
	case admissionv1.Create:
		u, resp := decodeMPIJob(req.Object.Raw)
		if resp != nil {
			return resp
		}
		if got := u.Annotations[AnnotationCreator]; got != req.UserInfo.Username {
			if got == "" {
				return forbidden(fmt.Sprintf("MPIJob %q has no %s annotation: the mutating webhook odh-training-mpijobs is not installed or did not run", u.Name, AnnotationCreator))
			}
			return forbidden(fmt.Sprintf("annotation %s=%q is set by the cluster to the user who creates the job (%q); remove it from the manifest", AnnotationCreator, got, req.UserInfo.Username))
		}
		return h.admitSpec(ctx, req, u, nil)
	case admissionv1.Update:
		u, resp := decodeMPIJob(req.Object.Raw)
		if resp != nil {
			return resp
		}
		old, resp := decodeMPIJob(req.OldObject.Raw)
		if resp != nil {
			return resp
		}
		if n, o := u.Annotations[AnnotationCreator], old.Annotations[AnnotationCreator]; n != o {
			return forbidden(fmt.Sprintf("annotation %s of MPIJob %q records who created it (%q) and cannot be changed", AnnotationCreator, u.Name, o))
		}
		if onlyFinalizersRemoved(old, u) {
			return allow()
		}
		if resp := h.owner(ctx, req, old, "change"); resp != nil {
			return resp
		}
		if reflect.DeepEqual(old.Spec, u.Spec) {
			return allow()
		}
		return h.admitSpec(ctx, req, u, old)
	case admissionv1.Delete:
		old, resp := decodeMPIJob(req.OldObject.Raw)
		if resp != nil {
			// Never block a delete on an object we cannot read.
			return allow()
		}
		if resp := h.owner(ctx, req, old, "delete"); resp != nil {
			return resp
		}
	}
	return allow()
}

func decodeMPIJob(raw []byte) (*kubeflow.MPIJob, *admissionv1.AdmissionResponse) {
	var u kubeflow.MPIJob
	if len(raw) == 0 {
		return nil, deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, "the admission request has no object")
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, "the object is not a kubeflow.org/v2beta1 MPIJob: "+err.Error())
	}
	return &u, nil
}

// onlyFinalizersRemoved reports whether an update only removes finalizers
// (the garbage collector finishing a foreground deletion, controllers
// releasing their finalizer), which nobody needs to own the job for.
func onlyFinalizersRemoved(old, cur *kubeflow.MPIJob) bool {
	for _, f := range cur.Finalizers {
		if !slices.Contains(old.Finalizers, f) {
			return false
		}
	}
	o, c := old.DeepCopy(), cur.DeepCopy()
	for _, m := range []*metav1.ObjectMeta{&o.ObjectMeta, &c.ObjectMeta} {
		m.ResourceVersion, m.Generation, m.ManagedFields, m.Finalizers = "", 0, nil, nil
	}
	o.Status, c.Status = kubeflow.JobStatus{}, kubeflow.JobStatus{}
	return reflect.DeepEqual(o, c)
}

// owner allows the job's creator, holders of the manage-all permission and
// the cluster's controllers; everyone else is told who may.
func (h *Handler) owner(ctx context.Context, req *admissionv1.AdmissionRequest, old *kubeflow.MPIJob, what string) *admissionv1.AdmissionResponse {
	user := req.UserInfo
	creator := old.Annotations[AnnotationCreator]
	if creator != "" && creator == user.Username {
		return nil
	}
	if slices.ContainsFunc(user.Groups, func(g string) bool { return slices.Contains(exemptGroups, g) }) {
		return nil
	}
	if h.Access != nil {
		ok, err := h.Access.CanManageAll(ctx, user, req.Namespace)
		if err != nil {
			h.log().Error("access review failed", "user", user.Username, "namespace", req.Namespace, "error", err)
			return deny(http.StatusInternalServerError, metav1.StatusReasonInternalError, fmt.Sprintf("cannot check whether %q may %s MPIJob %q: %v", user.Username, what, old.Name, err))
		}
		if ok {
			return nil
		}
	}
	by := "someone else"
	if creator != "" {
		by = fmt.Sprintf("%q", creator)
	}
	return forbidden(fmt.Sprintf("user %q may not %s MPIJob %q in namespace %q: it was created by %s; only its creator and MLOps engineers (verb %s on %s.%s, e.g. ClusterRole odh-training-mlops) may. Ask them, or ask an administrator for that role",
		user.Username, what, old.Name, req.Namespace, by, ManageAllVerb, ManageAllResource, ManageAllGroup))
}

// admitSpec runs the Training Service's validator and the namespace's
// policies (old is the job before an update, nil on create).
func (h *Handler) admitSpec(ctx context.Context, req *admissionv1.AdmissionRequest, u, old *kubeflow.MPIJob) *admissionv1.AdmissionResponse {
	if u.Namespace == "" {
		u.Namespace = req.Namespace
	}
	if u.Name == "" {
		u.Name = req.Name
	}
	j, errs := job.FromUpstream(u)
	var err error
	if len(errs) > 0 {
		err = job.Invalid(u.Name, errs)
	} else {
		err = job.Prepare(j)
	}
	if err != nil {
		var je *job.Error
		if e, ok := err.(*job.Error); ok {
			je = e
		} else {
			je = &job.Error{Kind: job.KindInvalid, Message: err.Error()}
		}
		causes := make([]metav1.StatusCause, 0, len(je.Fields))
		parts := make([]string, 0, len(je.Fields))
		for _, f := range je.Fields {
			causes = append(causes, metav1.StatusCause{Type: metav1.CauseType("Field" + f.Type), Field: f.Field, Message: f.Message})
			parts = append(parts, f.Error())
		}
		msg := strings.TrimSuffix(strings.Replace(je.Message, "; nothing was created:", "", 1), ":")
		return deny(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, msg+": "+strings.Join(parts, "; "), causes...)
	}
	policy := h.Policy
	if policy == nil {
		policy = &PolicyConfig{}
	}
	rules, perr := policy.rulesFor(ctx, req.Namespace, h.Namespaces)
	if perr != nil {
		return deny(http.StatusInternalServerError, metav1.StatusReasonInternalError, fmt.Sprintf("cannot read the admission policy of namespace %q: %v", req.Namespace, perr))
	}
	var problems []string
	var causes []metav1.StatusCause
	if len(rules.AllowedRegistries) > 0 {
		for _, im := range images(u) {
			if !registryAllowed(im.image, rules.AllowedRegistries) {
				m := fmt.Sprintf("image %q is not from a registry allowed in namespace %s (%s)", im.image, req.Namespace, strings.Join(rules.AllowedRegistries, ", "))
				problems = append(problems, im.field+": "+m)
				causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueNotSupported, Field: im.field, Message: m})
			}
		}
	}
	if rules.MaxWorkers != nil && j.Spec.Replicas() > *rules.MaxWorkers {
		f := "spec.mpiReplicaSpecs[Worker].replicas"
		m := fmt.Sprintf("%d workers exceed the maximum of %d per job in namespace %s", j.Spec.Replicas(), *rules.MaxWorkers, req.Namespace)
		problems = append(problems, f+": "+m)
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: f, Message: m})
	}
	if rules.MaxGPUsPerJob != nil {
		if g := jobGPUs(u); g > *rules.MaxGPUsPerJob {
			f := "spec.mpiReplicaSpecs"
			m := fmt.Sprintf("the job requests %d GPUs in total, more than the maximum of %d per job in namespace %s (every container of every pod counts, init containers included)", g, *rules.MaxGPUsPerJob, req.Namespace)
			problems = append(problems, f+": "+m)
			causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: f, Message: m})
		}
	}
	slices.Sort(problems)
	podProblems, podCauses, podPolicy, perr := h.podProblems(ctx, u, old)
	if perr != nil {
		return forbidden(fmt.Sprintf("MPIJob %q cannot be admitted: %v", u.Name, perr))
	}
	var which []string
	if len(problems) > 0 {
		which = append(which, "odh-webhook's policy file")
	}
	if len(podProblems) > 0 {
		which = append(which, podPolicy)
		problems = append(problems, podProblems...)
		causes = append(causes, podCauses...)
	}
	if len(problems) > 0 {
		return deny(http.StatusForbidden, metav1.StatusReasonForbidden, fmt.Sprintf("MPIJob %q violates the policy of namespace %s (%s); nothing was created or changed: %s (ask a platform administrator to change the policy: docs/admin/pod-policy.md)",
			u.Name, req.Namespace, strings.Join(which, " and "), strings.Join(problems, "; ")), causes...)
	}
	return allow()
}

type imageRef struct{ field, image string }

// images lists every container image of the job with its field path.
func images(u *kubeflow.MPIJob) []imageRef {
	var out []imageRef
	for _, rt := range []kubeflow.MPIReplicaType{kubeflow.MPIReplicaTypeLauncher, kubeflow.MPIReplicaTypeWorker} {
		r := u.Spec.MPIReplicaSpecs[rt]
		if r == nil {
			continue
		}
		ps := &r.Template.Spec
		for i, c := range ps.InitContainers {
			out = append(out, imageRef{fmt.Sprintf("spec.mpiReplicaSpecs[%s].template.spec.initContainers[%d].image", rt, i), c.Image})
		}
		for i, c := range ps.Containers {
			out = append(out, imageRef{fmt.Sprintf("spec.mpiReplicaSpecs[%s].template.spec.containers[%d].image", rt, i), c.Image})
		}
	}
	return out
}
