// Package deploy_test checks the Kubernetes manifests of deploy/: every
// document parses strictly into its k8s.io/api type and says what
// docs/admission.md promises (replicas, probes, a locked-down container,
// a fail-closed webhook for every workload kind), the shipped policy
// loads, and the real kubectl accepts the folder (client-side dry run)
// and renders its kustomization.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/toto-dev/toto/imagepolicy"
)

// manifests are the typed objects of deploy/*.yaml, by kind.
type manifests struct {
	namespaces  []*corev1.Namespace
	accounts    []*corev1.ServiceAccount
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
	webhooks    []*admissionregistrationv1.MutatingWebhookConfiguration
	count       int
}

// strict decodes JSON into v refusing unknown fields.
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func load(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 1; ; i++ {
			var node yaml.Node
			if err := dec.Decode(&node); err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			doc, err := yaml.Marshal(&node)
			if err != nil {
				t.Fatal(err)
			}
			js, err := sigsyaml.YAMLToJSONStrict(doc)
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var tm metav1.TypeMeta
			if err := json.Unmarshal(js, &tm); err != nil {
				t.Fatal(err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 Namespace":
				o := &corev1.Namespace{}
				m.namespaces, obj = append(m.namespaces, o), o
			case "v1 ServiceAccount":
				o := &corev1.ServiceAccount{}
				m.accounts, obj = append(m.accounts, o), o
			case "v1 ConfigMap":
				o := &corev1.ConfigMap{}
				m.configMaps, obj = append(m.configMaps, o), o
			case "v1 Secret":
				o := &corev1.Secret{}
				m.secrets, obj = append(m.secrets, o), o
			case "apps/v1 Deployment":
				o := &appsv1.Deployment{}
				m.deployments, obj = append(m.deployments, o), o
			case "v1 Service":
				o := &corev1.Service{}
				m.services, obj = append(m.services, o), o
			case "policy/v1 PodDisruptionBudget":
				o := &policyv1.PodDisruptionBudget{}
				m.pdbs, obj = append(m.pdbs, o), o
			case "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration":
				o := &admissionregistrationv1.MutatingWebhookConfiguration{}
				m.webhooks, obj = append(m.webhooks, o), o
			default:
				t.Fatalf("%s document %d: unexpected %s %s", f, i, tm.APIVersion, tm.Kind)
			}
			if err := strict(js, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
			m.count++
		}
	}
	return m
}

func TestManifests(t *testing.T) {
	m := load(t)
	if len(m.namespaces) != 1 || len(m.accounts) != 1 || len(m.configMaps) != 1 || len(m.secrets) != 2 ||
		len(m.deployments) != 1 || len(m.services) != 1 || len(m.pdbs) != 1 || len(m.webhooks) != 1 {
		t.Fatalf("want one of each object (two Secrets): %+v", m)
	}
	ns := m.namespaces[0].Name

	d := m.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Error("Deployment: want 2 replicas or more")
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatal("Deployment: want one container")
	}
	c := pod.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("readiness probe: want GET /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness probe: want GET /healthz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("resources: want cpu and memory requests and a memory limit")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("container securityContext: want a read-only root, no privilege escalation, all capabilities dropped")
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("pod securityContext: want runAsNonRoot with a non-zero runAsUser")
	}
	if d.Namespace != ns || m.services[0].Namespace != ns || m.pdbs[0].Namespace != ns {
		t.Errorf("objects outside namespace %s", ns)
	}
	if m.pdbs[0].Spec.MinAvailable == nil || m.pdbs[0].Spec.MinAvailable.IntValue() < 1 {
		t.Error("PodDisruptionBudget: want minAvailable >= 1")
	}
	// The Service, PDB and Deployment select the pods.
	labels := d.Spec.Template.Labels
	for k, v := range m.services[0].Spec.Selector {
		if labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the pods", k, v)
		}
	}
	for k, v := range m.pdbs[0].Spec.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("PodDisruptionBudget selector %s=%s does not select the pods", k, v)
		}
	}

	wc := m.webhooks[0]
	if len(wc.Webhooks) != 1 {
		t.Fatal("want one webhook")
	}
	w := wc.Webhooks[0]
	switch {
	case w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Fail:
		t.Error("failurePolicy: want Fail")
	case w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone:
		t.Error("sideEffects: want None")
	case !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}):
		t.Error("admissionReviewVersions: want [v1]")
	case w.TimeoutSeconds == nil || *w.TimeoutSeconds < 9 || *w.TimeoutSeconds > 30:
		t.Error("timeoutSeconds: want above the webhook's 8s --timeout, at most 30")
	case w.ClientConfig.Service == nil || w.ClientConfig.Service.Name != m.services[0].Name || w.ClientConfig.Service.Namespace != ns:
		t.Error("clientConfig: want the Service")
	}
	excluded := map[string]bool{}
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn {
			for _, v := range e.Values {
				excluded[v] = true
			}
		}
	}
	if !excluded["kube-system"] || !excluded[ns] {
		t.Errorf("namespaceSelector must leave out kube-system and %s: %v", ns, excluded)
	}
	covered := map[string]bool{}
	for _, r := range w.Rules {
		if !slices.Contains(r.Operations, admissionregistrationv1.Create) || !slices.Contains(r.Operations, admissionregistrationv1.Update) {
			t.Errorf("rule %v: want CREATE and UPDATE", r.Resources)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				covered[g+"/"+res] = true
			}
		}
	}
	for _, want := range []string{"/pods", "/pods/ephemeralcontainers", "/replicationcontrollers", "apps/deployments", "apps/replicasets",
		"apps/statefulsets", "apps/daemonsets", "batch/jobs", "batch/cronjobs"} {
		if !covered[want] {
			t.Errorf("webhook rules miss %s", want)
		}
	}
}

// TestShippedPolicyLoads lays out the policy volume as the Deployment's
// projected volume does (the ConfigMap's files and the keys Secret's in
// one folder) and loads it with imagepolicy.LoadSet.
func TestShippedPolicyLoads(t *testing.T) {
	m := load(t)
	dir := t.TempDir()
	var sources []string
	for _, v := range m.deployments[0].Spec.Template.Spec.Volumes {
		if v.Name == "policy" && v.Projected != nil {
			for _, s := range v.Projected.Sources {
				switch {
				case s.ConfigMap != nil:
					sources = append(sources, "configmap/"+s.ConfigMap.Name)
				case s.Secret != nil:
					sources = append(sources, "secret/"+s.Secret.Name)
				}
			}
		}
	}
	for _, cm := range m.configMaps {
		if slices.Contains(sources, "configmap/"+cm.Name) {
			for k, v := range cm.Data {
				writeFile(t, filepath.Join(dir, k), []byte(v))
			}
		}
	}
	for _, s := range m.secrets {
		if slices.Contains(sources, "secret/"+s.Name) {
			for k, v := range s.StringData {
				writeFile(t, filepath.Join(dir, k), []byte(v))
			}
		}
	}
	if len(sources) != 2 {
		t.Fatalf("policy volume sources %v: want the policy ConfigMap and the keys Secret", sources)
	}
	set, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if where, ok := set.Match("apps", "registry.example/app:1"); !ok || !strings.Contains(where, "policy.yaml") {
		t.Errorf("shipped policy does not match registry.example images: %q %v", where, ok)
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kubectl finds kubectl (make deps installs Debian's kubernetes-client);
// under CI it must be there.
func kubectl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kubectl not found: `make deps` installs Debian's kubernetes-client")
		}
		t.Skip("kubectl not found (Debian package kubernetes-client; `make deps` installs it)")
	}
	return p
}

// discovery serves the API discovery documents of the kinds deploy/
// uses, and 404 for every object: what `kubectl apply --dry-run=client`
// asks a cluster for (the REST mapping of each kind, and whether the
// object exists) before printing what it would create. Nothing is
// stored.
func discovery(t *testing.T) (string, *[]string) {
	t.Helper()
	type res struct {
		group, version, name, kind string
		namespaced                 bool
	}
	all := []res{
		{"", "v1", "namespaces", "Namespace", false},
		{"", "v1", "serviceaccounts", "ServiceAccount", true},
		{"", "v1", "configmaps", "ConfigMap", true},
		{"", "v1", "secrets", "Secret", true},
		{"", "v1", "services", "Service", true},
		{"apps", "v1", "deployments", "Deployment", true},
		{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true},
		{"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false},
	}
	var seen []string
	groups := map[string][]metav1.APIResource{}
	for _, r := range all {
		gv := r.version
		if r.group != "" {
			gv = r.group + "/" + r.version
		}
		groups[gv] = append(groups[gv], metav1.APIResource{Name: r.name, Kind: r.kind, Namespaced: r.namespaced,
			Verbs: metav1.Verbs{"create", "get", "list", "patch", "update", "delete"}})
	}
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		write(w, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	})
	mux.HandleFunc("/apis", func(w http.ResponseWriter, r *http.Request) {
		list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		for gv := range groups {
			g, v, ok := strings.Cut(gv, "/")
			if !ok {
				continue
			}
			gvd := metav1.GroupVersionForDiscovery{GroupVersion: gv, Version: v}
			list.Groups = append(list.Groups, metav1.APIGroup{Name: g, Versions: []metav1.GroupVersionForDiscovery{gvd}, PreferredVersion: gvd})
		}
		write(w, list)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/apis/"), "/api/")
		if rs, ok := groups[p]; ok {
			write(w, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: p, APIResources: rs})
			return
		}
		seen = append(seen, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
			Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound, Message: "not found"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, &seen
}

// TestKubectlDryRun: the real kubectl runs `kubectl apply
// --dry-run=client -f deploy/` (nothing is created; --validate=false, as
// the fixture serves no OpenAPI schema: the strict parse above is the
// schema check), and renders `kubectl kustomize deploy/` into the same
// objects, all in the webhook's namespace but the cluster-scoped ones.
func TestKubectlDryRun(t *testing.T) {
	bin := kubectl(t)
	m := load(t)
	url, seen := discovery(t)
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+filepath.Join(home, "none"))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	out := run("apply", "--dry-run=client", "--validate=false", "-s", url, "-o", "name", "-f", ".")
	names := strings.Fields(out)
	if len(names) != m.count {
		t.Errorf("kubectl apply --dry-run=client: %d objects, want %d:\n%s", len(names), m.count, out)
	}
	for _, want := range []string{"deployment.apps/toto-admission", "mutatingwebhookconfiguration.admissionregistration.k8s.io/toto-admission", "poddisruptionbudget.policy/toto-admission"} {
		if !slices.Contains(names, want) {
			t.Errorf("kubectl apply --dry-run=client did not read %s:\n%s", want, out)
		}
	}
	t.Logf("kubectl asked the discovery fixture for: %v", *seen)

	rendered := run("kustomize", ".")
	dec := yaml.NewDecoder(strings.NewReader(rendered))
	n := 0
	for {
		var o struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
		}
		if err := dec.Decode(&o); err != nil {
			break
		}
		n++
		clusterScoped := o.Kind == "Namespace" || o.Kind == "MutatingWebhookConfiguration"
		if !clusterScoped && o.Metadata.Namespace != m.namespaces[0].Name {
			t.Errorf("kustomize: %s %s in namespace %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
	}
	if n != m.count {
		t.Errorf("kubectl kustomize rendered %d objects, want %d", n, m.count)
	}
}
