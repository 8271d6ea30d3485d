package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// NodeOptions sizes the kwok fake nodes.
type NodeOptions struct {
	// Count of nodes, named kwok-node-0 … kwok-node-<Count-1>. Default 4.
	Count int
	// CPU, Memory and Pods are each node's capacity; defaults 16, 64Gi, 110.
	CPU, Memory, Pods string
	// GPUs is the node's nvidia.com/gpu capacity; default 4, "0" for none.
	GPUs string
}

func (o NodeOptions) withDefaults() NodeOptions {
	if o.Count == 0 {
		o.Count = 4
	}
	if o.CPU == "" {
		o.CPU = "16"
	}
	if o.Memory == "" {
		o.Memory = "64Gi"
	}
	if o.Pods == "" {
		o.Pods = "110"
	}
	if o.GPUs == "" {
		o.GPUs = "4"
	}
	return o
}

// GPUResource is the extended resource name of the fake GPUs.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// NodeLabel marks the harness's fake nodes (value "kwok").
const NodeLabel = "type"

func (o NodeOptions) capacity() (corev1.ResourceList, error) {
	rl := corev1.ResourceList{}
	for name, v := range map[corev1.ResourceName]string{
		corev1.ResourceCPU: o.CPU, corev1.ResourceMemory: o.Memory, corev1.ResourcePods: o.Pods,
		corev1.ResourceEphemeralStorage: "500Gi", GPUResource: o.GPUs,
	} {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("node %s %q: %w", name, v, err)
		}
		if name == GPUResource && q.IsZero() {
			continue
		}
		rl[name] = q
	}
	return rl, nil
}

// ensureNodes creates the fake nodes that do not exist yet. kwok, running with
// --manage-all-nodes, then keeps them Ready and serves their kubelet API on
// 127.0.0.1:kwokPort (the apiserver reaches it for pods/log).
func ensureNodes(ctx context.Context, cs kubernetes.Interface, o NodeOptions, kwokPort int) error {
	o = o.withDefaults()
	capacity, err := o.capacity()
	if err != nil {
		return err
	}
	for i := range o.Count {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Labels: map[string]string{
					NodeLabel:                          "kwok",
					"kubernetes.io/hostname":           name,
					"kubernetes.io/os":                 "linux",
					"kubernetes.io/arch":               "amd64",
					"kubernetes.io/role":               "agent",
					"node.kubernetes.io/instance-type": "odh-kwok",
					"topology.kubernetes.io/zone":      fmt.Sprintf("zone-%d", i%2),
				},
				Annotations: map[string]string{
					"kwok.x-k8s.io/node":           "fake",
					"node.alpha.kubernetes.io/ttl": "0",
					resourceMetricsPathAnnotation:  resourceMetricsPath(name),
				},
			},
			// Nodes, unlike most objects, keep the status given at creation.
			Status: corev1.NodeStatus{
				Capacity:    capacity,
				Allocatable: capacity,
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
					{Type: corev1.NodeHostName, Address: name},
				},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(kwokPort)}},
			},
		}
		existing, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create node %s: %w", name, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("get node %s: %w", name, err)
		}
		if existing.Annotations[resourceMetricsPathAnnotation] == "" {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, resourceMetricsPathAnnotation, resourceMetricsPath(name))
			if existing, err = cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return fmt.Errorf("annotate node %s: %w", name, err)
			}
		}
		// A restarted harness may have moved kwok to another port.
		if existing.Status.DaemonEndpoints.KubeletEndpoint.Port != int32(kwokPort) {
			existing.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(kwokPort)
			if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, existing, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update node %s: %w", name, err)
			}
		}
	}
	return nil
}

// nodesReady reports an error unless every fake node is Ready and carries no
// NoSchedule/NoExecute taint.
func nodesReady(ctx context.Context, cs kubernetes.Interface, want int) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: NodeLabel + "=kwok"})
	if err != nil {
		return err
	}
	ready := 0
	for _, n := range nodes.Items {
		ok := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ok = true
			}
		}
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				ok = false
			}
		}
		if ok {
			ready++
		}
	}
	if ready < want {
		return fmt.Errorf("%d of %d kwok nodes Ready and untainted", ready, want)
	}
	return nil
}
