package job

// DefaultNamespace is used when a job names no namespace.
const DefaultNamespace = "default"

// SetDefaults fills in every optional field that has a default. It is
// idempotent and never overrides what the user set.
func SetDefaults(j *MPIJob) {
	if j.APIVersion == "" {
		j.APIVersion = APIVersion
	}
	if j.Kind == "" {
		j.Kind = Kind
	}
	if j.Metadata.Namespace == "" {
		j.Metadata.Namespace = DefaultNamespace
	}
	s := &j.Spec
	if s.Workers.Replicas == nil {
		s.Workers.Replicas = Ptr(int32(1))
	}
	if s.Workers.SlotsPerWorker == nil {
		s.Workers.SlotsPerWorker = Ptr(int32(1))
	}
	if s.MPIImplementation == "" {
		s.MPIImplementation = OpenMPI
	}
	if s.RunPolicy.CleanPodPolicy == "" {
		s.RunPolicy.CleanPodPolicy = CleanPodPolicyRunning
	}
	if s.RunPolicy.BackoffLimit == nil {
		s.RunPolicy.BackoffLimit = Ptr(int32(0))
	}
}
