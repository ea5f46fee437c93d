package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrUnsupportedKind is an object of a kind the webhook does not read.
var ErrUnsupportedKind = errors.New("unsupported kind")

// Container is one image reference in an object, with the JSON Pointer
// (RFC 6901) of its "image" member, where a patch rewrites it.
type Container struct {
	// Kind is "containers", "initContainers", "ephemeralContainers" or
	// "volumes" (an image volume: spec.volumes[].image.reference).
	Kind  string
	Name  string
	Image string
	Path  string
}

// podSpecOf decodes an object of kind gvk and returns its pod spec and the
// JSON Pointer of that spec in the object. Unknown fields are tolerated:
// the API server may be newer than the types compiled in.
func podSpecOf(gvk metav1.GroupVersionKind, raw []byte) (*corev1.PodSpec, string, error) {
	type kind struct{ group, version, kind string }
	k := kind{gvk.Group, gvk.Version, gvk.Kind}
	decode := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("decode %s: %w", gvk.Kind, err)
		}
		return nil
	}
	const template = "/spec/template/spec"
	switch k {
	case kind{"", "v1", "Pod"}:
		var o corev1.Pod
		return &o.Spec, "/spec", decode(&o)
	case kind{"", "v1", "ReplicationController"}:
		var o corev1.ReplicationController
		if err := decode(&o); err != nil {
			return nil, "", err
		}
		if o.Spec.Template == nil {
			return &corev1.PodSpec{}, template, nil
		}
		return &o.Spec.Template.Spec, template, nil
	case kind{"apps", "v1", "Deployment"}:
		var o appsv1.Deployment
		return &o.Spec.Template.Spec, template, decode(&o)
	case kind{"apps", "v1", "ReplicaSet"}:
		var o appsv1.ReplicaSet
		return &o.Spec.Template.Spec, template, decode(&o)
	case kind{"apps", "v1", "StatefulSet"}:
		var o appsv1.StatefulSet
		return &o.Spec.Template.Spec, template, decode(&o)
	case kind{"apps", "v1", "DaemonSet"}:
		var o appsv1.DaemonSet
		return &o.Spec.Template.Spec, template, decode(&o)
	case kind{"batch", "v1", "Job"}:
		var o batchv1.Job
		return &o.Spec.Template.Spec, template, decode(&o)
	case kind{"batch", "v1", "CronJob"}:
		var o batchv1.CronJob
		return &o.Spec.JobTemplate.Spec.Template.Spec, "/spec/jobTemplate" + template, decode(&o)
	}
	return nil, "", fmt.Errorf("%w: %s (the webhook reads Pods, ReplicationControllers, apps/v1 Deployments, ReplicaSets, StatefulSets, DaemonSets and batch/v1 Jobs and CronJobs; its rules should send v1 with matchPolicy Equivalent)", ErrUnsupportedKind, gvkString(gvk))
}

func gvkString(gvk metav1.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version + "/" + gvk.Kind
	}
	return gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
}

// Containers lists the images of an object of kind gvk (raw JSON, as in
// an AdmissionRequest), in containers, initContainers,
// ephemeralContainers and image volumes, with the JSON Pointer of each
// image.
func Containers(gvk metav1.GroupVersionKind, raw []byte) ([]Container, error) {
	spec, prefix, err := podSpecOf(gvk, raw)
	if err != nil {
		return nil, err
	}
	var out []Container
	add := func(kind string, i int, name, image string) {
		out = append(out, Container{Kind: kind, Name: name, Image: image, Path: prefix + "/" + kind + "/" + strconv.Itoa(i) + "/image"})
	}
	for i, c := range spec.InitContainers {
		add("initContainers", i, c.Name, c.Image)
	}
	for i, c := range spec.Containers {
		add("containers", i, c.Name, c.Image)
	}
	for i, c := range spec.EphemeralContainers {
		add("ephemeralContainers", i, c.Name, c.Image)
	}
	// An image volume is pulled like a container's image and its files
	// are mounted into the containers.
	for i, v := range spec.Volumes {
		if v.Image != nil {
			out = append(out, Container{Kind: "volumes", Name: v.Name, Image: v.Image.Reference, Path: prefix + "/volumes/" + strconv.Itoa(i) + "/image/reference"})
		}
	}
	return out, nil
}
