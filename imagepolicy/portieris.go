package imagepolicy

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/internal/yamlpos"
)

// Portieris's resources (IBM/portieris, portieris.cloud.ibm.com/v1).
const (
	portierisAPI           = "portieris.cloud.ibm.com/v1"
	portierisLegacyAPI     = "securityenforcement.admission.cloud.ibm.com/v1beta1"
	kindImagePolicy        = "ImagePolicy"
	kindClusterImagePolicy = "ClusterImagePolicy"
)

// ErrUnsupported is wrapped by the reason of a requirement toto does not
// evaluate (Portieris's vulnerability checks): such a requirement denies.
var ErrUnsupported = errors.New("not supported by toto")

// ErrRejected is wrapped by the reason of a Portieris "reject"
// requirement.
var ErrRejected = errors.New("rejected by policy")

// The Portieris resource as its CRD schema has it.
type (
	pDoc struct {
		APIVersion string    `yaml:"apiVersion"`
		Kind       string    `yaml:"kind"`
		Metadata   yaml.Node `yaml:"metadata"`
		Spec       struct {
			Repositories []pRepo `yaml:"repositories"`
		} `yaml:"spec"`
	}
	pMeta struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	}
	pRepo struct {
		Name   string   `yaml:"name"`
		Policy *pPolicy `yaml:"policy"`
	}
	pPolicy struct {
		MutateImage   *bool           `yaml:"mutateImage"`
		Trust         *pTrust         `yaml:"trust"`
		Simple        *pSimple        `yaml:"simple"`
		Vulnerability *pVulnerability `yaml:"vulnerability"`
		// VA is the vulnerability check of POLICIES.md's field table
		// (va.enabled), not in the CRD schema.
		VA *pEnabled `yaml:"va"`
		// SimpleStore appears in Portieris's own e2e fixtures but not in
		// its CRD schema, so Kubernetes prunes it: ignored here too.
		SimpleStore yaml.Node `yaml:"simpleStore"`
	}
	pTrust struct {
		Enabled       *bool  `yaml:"enabled"`
		TrustServer   string `yaml:"trustServer"`
		SignerSecrets []struct {
			Name string `yaml:"name"`
		} `yaml:"signerSecrets"`
	}
	pSimple struct {
		Requirements []pSimpleReq `yaml:"requirements"`
		StoreURL     string       `yaml:"storeURL"`
		StoreSecret  string       `yaml:"storeSecret"`
	}
	pSimpleReq struct {
		Type               string          `yaml:"type"`
		KeySecret          string          `yaml:"keySecret"`
		KeySecretNamespace string          `yaml:"keySecretNamespace"`
		SignedIdentity     *SignedIdentity `yaml:"signedIdentity"`
	}
	pVulnerability struct {
		ICCRVA *struct {
			Enabled *bool  `yaml:"enabled"`
			Account string `yaml:"account"`
		} `yaml:"ICCRVA"`
	}
	pEnabled struct {
		Enabled *bool `yaml:"enabled"`
	}
)

// portierisDoc is a Portieris resource made a toto policy.
type portierisDoc struct {
	kind, name, namespace string // namespace "" for ClusterImagePolicy
	policy                *Policy
}

func (pd *portierisDoc) displayName() string {
	if pd.namespace == "" {
		return pd.name
	}
	return pd.namespace + "/" + pd.name
}

// k8sSource says whose secrets a Portieris policy reads: an ImagePolicy's
// namespace, or (namespace "") the namespace being evaluated, as
// Portieris reads a ClusterImagePolicy's secrets.
type k8sSource struct {
	namespace string
}

// secretRef names a Secret; namespace "" is the policy's (k8sSource).
type secretRef struct {
	namespace, name string
}

// ParsePortieris reads one Portieris ImagePolicy or ClusterImagePolicy
// (YAML or JSON) as a policy: each spec.repositories entry a rule, its
// trust a dct requirement, its simple requirements simpleSigning
// requirements. Fields the CRD schema does not have are errors, except
// simpleStore (in Portieris's own fixtures; Kubernetes prunes it), which
// is ignored.
func ParsePortieris(data []byte) (*Policy, error) {
	docs, err := splitDocuments("", data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%w: want one document, found %d", ErrPolicy, len(docs))
	}
	var h header
	if err := docs[0].Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	pd, err := parsePortieris("", docs[0], "", h)
	if err != nil {
		return nil, err
	}
	return pd.policy, nil
}

// parsePortieris reads a resource: the node at path of file (path "" for
// a document; file "" for bytes).
func parsePortieris(file string, doc *yaml.Node, path string, h header) (*portierisDoc, error) {
	switch {
	case h.APIVersion == portierisLegacyAPI:
		return nil, fmt.Errorf("%w: apiVersion %s: Portieris v0.10 and later ignore it; update it to %s", ErrPolicy, h.APIVersion, portierisAPI)
	case h.Kind == "Secret":
		return nil, fmt.Errorf("%w: a Secret among the policies: secrets are read from the secrets directory", ErrPolicy)
	case h.APIVersion != portierisAPI:
		return nil, fmt.Errorf("%w: apiVersion %q kind %q: neither a toto policy (no apiVersion) nor a Portieris %s resource", ErrPolicy, h.APIVersion, h.Kind, portierisAPI)
	case h.Kind != kindImagePolicy && h.Kind != kindClusterImagePolicy:
		return nil, fmt.Errorf("%w: kind %q: want %s or %s", ErrPolicy, h.Kind, kindImagePolicy, kindClusterImagePolicy)
	}
	var d pDoc
	if err := yamlpos.DecodeNode(file, doc, path, &d); err != nil {
		return nil, &placedError{err: err}
	}
	var meta pMeta
	if err := d.Metadata.Decode(&meta); err != nil && d.Metadata.Kind != 0 {
		return nil, fmt.Errorf("%w: %s metadata: %v", ErrPolicy, h.Kind, err)
	}
	if meta.Name == "" {
		return nil, fmt.Errorf("%w: %s without metadata.name", ErrPolicy, h.Kind)
	}
	pd := &portierisDoc{kind: h.Kind, name: meta.Name}
	if h.Kind == kindImagePolicy {
		// As kubectl applies a resource without a namespace.
		pd.namespace = meta.Namespace
		if pd.namespace == "" {
			pd.namespace = "default"
		}
	} else if meta.Namespace != "" {
		return nil, fmt.Errorf("%w: ClusterImagePolicy %s has metadata.namespace %q: it is cluster-wide", ErrPolicy, meta.Name, meta.Namespace)
	}
	p := &Policy{Default: "deny", k8s: &k8sSource{namespace: pd.namespace}}
	for i, repo := range d.Spec.Repositories {
		at := fmt.Sprintf("%s %s spec.repositories[%d]", h.Kind, meta.Name, i)
		if repo.Name == "" {
			return nil, fmt.Errorf("%w: %s: no name", ErrPolicy, at)
		}
		r, err := portierisRule(repo, at)
		if err != nil {
			return nil, err
		}
		p.Rules = append(p.Rules, r)
	}
	pd.policy = p
	return pd, nil
}

// portierisRule makes one repository entry a rule: all of its simple
// requirements, its trust requirement and its vulnerability check, as
// Portieris's enforcer requires each that is present.
func portierisRule(repo pRepo, at string) (Rule, error) {
	r := Rule{Images: []string{repo.Name}}
	pol := repo.Policy
	if pol == nil {
		pol = &pPolicy{}
	}
	r.MutateImage = pol.MutateImage
	var reqs []Requirement
	if s := pol.Simple; s != nil {
		var store *secretRef
		if s.StoreSecret != "" {
			store = &secretRef{name: s.StoreSecret}
		}
		for i, sr := range s.Requirements {
			name := fmt.Sprintf("simple requirements[%d] %s", i, sr.Type)
			req := Requirement{Name: name, Action: decision.Enforce}
			switch sr.Type {
			case "insecureAcceptAnything":
				req.fixed = &fixedOutcome{name: name}
			case "reject":
				req.fixed = &fixedOutcome{name: name, err: fmt.Errorf("%w: a reject requirement applies", ErrRejected)}
			case "signedBy":
				if sr.KeySecret == "" {
					return r, fmt.Errorf("%w: %s.policy.simple.requirements[%d]: signedBy without keySecret", ErrPolicy, at, i)
				}
				req.Name = name + " " + sr.KeySecret
				ss := &SimpleSigning{SignedIdentity: sr.SignedIdentity, Lookaside: s.StoreURL,
					keySecrets: []secretRef{{namespace: sr.KeySecretNamespace, name: sr.KeySecret}}, storeSecret: store}
				if err := ss.check(fmt.Sprintf("%s.policy.simple.requirements[%d]", at, i)); err != nil {
					return r, err
				}
				req.SimpleSigning = ss
			default:
				return r, fmt.Errorf("%w: %s.policy.simple.requirements[%d]: type %q: want signedBy, insecureAcceptAnything or reject", ErrPolicy, at, i, sr.Type)
			}
			reqs = append(reqs, req)
		}
	}
	if t := pol.Trust; t != nil && t.Enabled != nil && *t.Enabled {
		d := &DCT{Server: t.TrustServer, serverByRegistry: t.TrustServer == ""}
		for i, s := range t.SignerSecrets {
			if s.Name == "" {
				return r, fmt.Errorf("%w: %s.policy.trust.signerSecrets[%d]: no name", ErrPolicy, at, i)
			}
			d.signerSecrets = append(d.signerSecrets, secretRef{name: s.Name})
		}
		if err := d.check(at + ".policy.trust"); err != nil {
			return r, err
		}
		reqs = append(reqs, Requirement{Name: "trust (Docker Content Trust)", Action: decision.Enforce, DCT: d})
	}
	vuln := pol.VA != nil && pol.VA.Enabled != nil && *pol.VA.Enabled
	if v := pol.Vulnerability; v != nil && v.ICCRVA != nil && v.ICCRVA.Enabled != nil && *v.ICCRVA.Enabled {
		vuln = true
	}
	if vuln {
		reqs = append(reqs, Requirement{Name: "vulnerability (IBM Vulnerability Advisor)", Action: decision.Enforce,
			fixed: &fixedOutcome{name: "vulnerability", err: fmt.Errorf("%w: vulnerability checks (ICCRVA) are not evaluated, so the policy cannot allow the image", ErrUnsupported)}})
	}
	switch len(reqs) {
	case 0:
		r.Require = Requirement{Name: "no requirement (the policy has no trust, simple or vulnerability check)", Action: decision.Audit,
			fixed: &fixedOutcome{name: "no requirement"}}
	case 1:
		r.Require = reqs[0]
	default:
		r.Require = Requirement{Action: decision.Enforce, All: reqs}
	}
	return r, nil
}

// portierisTrustServer is the notary server Portieris uses for a
// registry when the policy names none.
func portierisTrustServer(host string) (string, error) {
	switch {
	case host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io":
		return "https://notary.docker.io", nil
	case host == "quay.io":
		return "https://quay.io:443", nil
	case host == "icr.io" || strings.HasSuffix(host, ".icr.io"):
		return "https://" + host + ":4443", nil
	}
	return "", fmt.Errorf("%w: no trust server is known for registry %s; set trust.trustServer", ErrPolicy, host)
}
