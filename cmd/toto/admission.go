package main

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/admission"
	"github.com/toto-dev/toto/imagepolicy"
)

func init() { rootCmd.AddCommand(newAdmissionCmd()) }

// toto admission: the Kubernetes admission webhook (docs/admission.md).
func newAdmissionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Enforce the image policy at Kubernetes admission (webhook)",
		Long: `Run toto's image policy as a Kubernetes admission webhook: every image of a
Pod, Deployment, ReplicaSet, ReplicationController, StatefulSet, DaemonSet,
Job or CronJob is verified before the object is admitted. deploy/ holds
the manifests; docs/admission.md explains them.`,
	}
	cmd.AddCommand(newAdmissionServeCmd())
	return cmd
}

func newAdmissionServeCmd() *cobra.Command {
	var (
		policyPath, secretsDir, addr, certFile, keyFile, metricsAddr string
		timeout, cacheTTL, poll, shutdown, drainDelay                time.Duration
		logLevel                                                     string
	)
	cmd := &cobra.Command{
		Use:   "serve --policy PATH --tls-cert CERT --tls-key KEY",
		Short: "Serve the admission webhook over TLS",
		Long: `Serve admission.k8s.io/v1 AdmissionReviews over TLS (POST /validate or
/mutate), with /healthz, /readyz and /metrics (Prometheus).

Each image of the object's containers, init containers and ephemeral
containers is judged by the policy at --policy (a file, or a folder of
policy documents). Denied: the response names the image, the policy and
the failed requirement. Allowed: warn-action violations come back as
warnings, and where the policy says so a JSONPatch pins each image to the
digest that was verified.

It fails closed: a review is answered within --timeout (less when the API
server's ?timeout= is shorter), and an image not verified by then is
denied. The policy files (and --secrets) are polled; a change reloads the
policy, and a policy that fails to load leaves the last good one in force
(logged, counted in toto_admission_policy_reload_failures_total, and shown
in /readyz). SIGTERM drains: /readyz turns 503 and reviews in flight are
answered before it exits. Logs are JSON lines on stderr.

Exit codes: 0 after a clean shutdown, 2 for bad flags or a policy or
certificate that does not load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policyPath == "" || certFile == "" || keyFile == "" {
				return errors.New("--policy, --tls-cert and --tls-key are required")
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return errors.New("--log-level: want debug, info, warn or error")
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			watch := []string{policyPath}
			if secretsDir != "" {
				watch = append(watch, secretsDir)
			}
			s, err := admission.New(admission.Options{
				Load:         admission.PolicyLoader(policyPath, imagepolicy.SetOptions{SecretsDir: secretsDir}),
				Watch:        watch,
				PollInterval: poll,
				Timeout:      timeout,
				CacheTTL:     cacheTTL,
				Logger:       log,
			})
			if err != nil {
				return err
			}
			return admission.ListenAndServe(cmd.Context(), s, admission.ServeOptions{
				Addr: addr, CertFile: certFile, KeyFile: keyFile, MetricsAddr: metricsAddr,
				ShutdownTimeout: shutdown, DrainDelay: drainDelay,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyPath, "policy", "", "image policy: a file, or a folder of policy documents (required)")
	f.StringVar(&secretsDir, "secrets", "", "folder of signer keys the policies name (watched for changes too)")
	f.StringVar(&addr, "addr", "127.0.0.1:8443", "TLS address to serve the webhook on (\":8443\" in a pod)")
	f.StringVar(&certFile, "tls-cert", "", "serving certificate, PEM (re-read when it changes) (required)")
	f.StringVar(&keyFile, "tls-key", "", "serving certificate's private key, PEM (required)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "also serve /metrics, /healthz and /readyz over plain HTTP here, e.g. :9090")
	f.DurationVar(&timeout, "timeout", 8*time.Second, "longest a review may take; keep it below the webhook's timeoutSeconds")
	f.DurationVar(&cacheTTL, "cache-ttl", 5*time.Minute, "how long an image's verdict is reused (0: verify every time; denials at most 10s)")
	f.DurationVar(&poll, "poll", 2*time.Second, "how often the policy files are checked for changes")
	f.DurationVar(&shutdown, "shutdown-timeout", 20*time.Second, "longest wait for reviews in flight on SIGTERM")
	f.DurationVar(&drainDelay, "drain-delay", 0, "on SIGTERM, report unready this long before closing the listener (e.g. 5s in a cluster)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
