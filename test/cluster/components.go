package cluster

import (
	"context"
	"fmt"
)

// Component names, in start order. They name the log files, the entries of
// state.json and the components' identities.
const (
	CompEtcd              = "etcd"
	CompAPIServer         = "kube-apiserver"
	CompControllerManager = "kube-controller-manager"
	CompScheduler         = "kube-scheduler"
	CompKwok              = "kwok"
	CompOperator          = "mpi-operator"
	CompKueue             = "kueue"
	CompJobSet            = "jobset"
	CompTrainer           = "trainer"
	// CompCoscheduler is the scheduler-plugins scheduler (second scheduler,
	// coscheduling plugin); CompPodGroupController its PodGroup controller.
	CompCoscheduler        = "scheduler-plugins"
	CompPodGroupController = "scheduler-plugins-controller"
	CompMetricsServer      = "metrics-server"
	// CompWebhook is the product's own admission webhook, odh-webhook.
	CompWebhook = "odh-webhook"
)

// component is one process the harness runs.
type component struct {
	name string
	// bins are the binaries of bin/cluster it runs (none for etcd).
	bins []string
	// port is the main loopback port status shows.
	port func(Ports) int
	// command returns how to run it (writing any configuration it needs).
	command func(c *Cluster, ctx context.Context) (binary string, args, env []string, err error)
	// check reports an error until it serves.
	check func(c *Cluster, ctx context.Context) error
	// prepare, if set, runs before the process (re)starts: objects it
	// needs from its first moment, e.g. its RBAC.
	prepare func(c *Cluster, ctx context.Context) error
	// register, if set, runs once every component serves: what the
	// apiserver needs to call it (webhook configurations, APIServices).
	register func(c *Cluster, ctx context.Context) error
}

// components lists every component in start order: etcd and the apiserver
// first (the bootstrap objects go in between), then the rest.
func components() []component {
	return []component{
		{name: CompEtcd, port: func(p Ports) int { return p.Etcd }, command: (*Cluster).etcdCommand, check: (*Cluster).checkEtcd},
		{name: CompAPIServer, bins: []string{"kube-apiserver", "kubectl"}, port: func(p Ports) int { return p.APIServer },
			command: (*Cluster).apiServerCommand, check: (*Cluster).checkAPIServer},
		{name: CompControllerManager, bins: []string{"kube-controller-manager"}, port: func(p Ports) int { return p.ControllerManager },
			command: (*Cluster).controllerManagerCommand, check: (*Cluster).checkControllerManager},
		{name: CompScheduler, bins: []string{"kube-scheduler"}, port: func(p Ports) int { return p.Scheduler },
			command: (*Cluster).schedulerCommand, check: (*Cluster).checkScheduler},
		{name: CompKwok, bins: []string{"kwok"}, port: func(p Ports) int { return p.Kwok },
			command: (*Cluster).kwokCommand, check: (*Cluster).checkKwok},
		{name: CompOperator, bins: []string{"mpi-operator"}, port: func(p Ports) int { return p.OperatorHealth },
			command: (*Cluster).operatorCommand, check: (*Cluster).checkOperator},
		{name: CompKueue, bins: []string{"kueue"}, port: func(p Ports) int { return p.KueueWebhook },
			command: (*Cluster).kueueCommand, check: (*Cluster).checkKueue, register: (*Cluster).registerKueue},
		{name: CompJobSet, bins: []string{"jobset"}, port: func(p Ports) int { return p.JobSetWebhook },
			command: (*Cluster).jobSetCommand, check: (*Cluster).checkJobSet, register: (*Cluster).registerJobSet},
		{name: CompTrainer, bins: []string{"trainer-controller-manager"}, port: func(p Ports) int { return p.TrainerWebhook },
			command: (*Cluster).trainerCommand, check: (*Cluster).checkTrainer, register: (*Cluster).registerTrainer},
		{name: CompCoscheduler, bins: []string{"scheduler-plugins-scheduler"}, port: func(p Ports) int { return p.Coscheduler },
			command: (*Cluster).coschedulerCommand, check: (*Cluster).checkCoscheduler},
		{name: CompPodGroupController, bins: []string{"scheduler-plugins-controller"}, port: func(p Ports) int { return p.PodGroupControllerHealth },
			command: (*Cluster).podGroupControllerCommand, check: (*Cluster).checkPodGroupController},
		{name: CompMetricsServer, bins: []string{"metrics-server"}, port: func(p Ports) int { return p.MetricsServer },
			command: (*Cluster).metricsServerCommand, check: (*Cluster).checkMetricsServer, register: (*Cluster).registerMetricsServer},
		{name: CompWebhook, bins: []string{"odh-webhook"}, port: func(p Ports) int { return p.Webhook },
			command: (*Cluster).webhookCommand, check: (*Cluster).checkWebhook,
			prepare: (*Cluster).prepareWebhook, register: (*Cluster).registerWebhook},
	}
}

// componentOrder lists the component names in start order.
func componentOrder() []string {
	var names []string
	for _, comp := range components() {
		names = append(names, comp.name)
	}
	return names
}

func lookupComponent(name string) (component, error) {
	for _, comp := range components() {
		if comp.name == name {
			return comp, nil
		}
	}
	return component{}, fmt.Errorf("unknown component %q", name)
}

// requiredBinaries lists every binary of bin/cluster the components run.
func requiredBinaries() []string {
	var bins []string
	for _, comp := range components() {
		bins = append(bins, comp.bins...)
	}
	return bins
}
