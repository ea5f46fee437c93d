// Package admission is toto's Kubernetes validating and mutating admission
// webhook: it reads admission.k8s.io/v1 AdmissionReviews for pods and the
// workloads that make pods (Deployments, ReplicaSets,
// ReplicationControllers, StatefulSets, DaemonSets, Jobs, CronJobs), has
// the image policy (package imagepolicy) judge every image of their
// containers, init containers and ephemeral containers and of its image
// volumes, and answers:
// denied with the image, the policy and the failed requirement; or allowed,
// with warn-action violations as warnings and, where the policy asks, a
// JSONPatch that pins each image to the digest that was verified.
//
// It fails closed: an image whose verification does not finish before the
// request's deadline (derived from the API server's webhook timeout) is
// denied. Verdicts are cached per (policy generation, namespace, image);
// the images of one object are verified concurrently, identical ones once,
// and concurrent requests for the same image share one verification. The
// policy is reloaded when its files change; a policy that does not load
// leaves the last good one in force, and says so in logs, metrics and
// /readyz.
//
// The policy decides; this package only asks it (Evaluator), caches, and
// speaks the admission protocol.
package admission

import (
	"context"

	"github.com/toto-dev/toto/imagepolicy"
)

// Verdict is the policy's word on one image: imagepolicy.Set's Result
// (the decision, the digest verified, the image pinned to it, whether to
// rewrite the image, and the policy that decided).
type Verdict = imagepolicy.Result

// Evaluator judges one image for a namespace; *imagepolicy.Set is the
// one toto serves. It must be safe for concurrent use and give up when
// ctx is done. An error means the image could not be judged (deadline,
// a policy that cannot be evaluated): the webhook denies, and does not
// cache it.
type Evaluator interface {
	Evaluate(ctx context.Context, namespace, image string) (*Verdict, error)
}

// EvaluatorFunc lets a function be an Evaluator.
type EvaluatorFunc func(ctx context.Context, namespace, image string) (*Verdict, error)

// Evaluate calls f.
func (f EvaluatorFunc) Evaluate(ctx context.Context, namespace, image string) (*Verdict, error) {
	return f(ctx, namespace, image)
}

// Loader loads the policy: at start, and again whenever the watched files
// change.
type Loader func() (Evaluator, error)
