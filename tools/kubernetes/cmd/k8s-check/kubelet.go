package main

import (
	"fmt"
	"io"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	logsapi "k8s.io/component-base/logs/api/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	kubeletscheme "k8s.io/kubernetes/pkg/kubelet/apis/config/scheme"
	kubeletconfigv1beta1 "k8s.io/kubernetes/pkg/kubelet/apis/config/v1beta1"
	kubeletvalidation "k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"k8s.io/kubernetes/pkg/kubelet/cm"
	"k8s.io/kubernetes/pkg/kubelet/eviction"
	"k8s.io/kubernetes/pkg/kubelet/stats/pidlimit"
)

func init() {
	// The kubelet's feature gate: importing k8s.io/kubernetes/pkg/features
	// (done by the validation package) registers the Kubernetes and client-go
	// features on utilfeature.DefaultMutableFeatureGate; cmd/kubelet/app adds
	// the logging ones in its init, as here.
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
}

// checkKubeletConfigFile checks each KubeletConfiguration of a file.
func checkKubeletConfigFile(path string, stdout io.Writer) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	docs, err := splitDocuments(data)
	if err != nil {
		return []string{err.Error()}
	}
	var nonEmpty []document
	for _, doc := range docs {
		if !doc.isEmpty() {
			nonEmpty = append(nonEmpty, doc)
		}
	}
	if len(nonEmpty) == 0 {
		return []string{"no KubeletConfiguration: the file is empty"}
	}
	// kubeadm accepts several patches in one file, so check each.
	var problems []string
	for _, doc := range nonEmpty {
		prefix := ""
		if len(nonEmpty) > 1 {
			prefix = doc.String() + ": "
		}
		if p := doc.notMapping(); p != "" {
			problems = append(problems, prefix+p)
			continue
		}
		for _, p := range checkKubeletConfig(doc) {
			problems = append(problems, prefix+p)
		}
	}
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "ok %s\n", path)
	}
	return problems
}

// checkKubeletConfig checks one KubeletConfiguration the way the kubelet
// loads its --config file (cmd/kubelet/app loadConfigFile: decode, default,
// convert), validates it (ValidateKubeletConfiguration, with the kubelet's
// feature gate) and parses its map-valued fields (as cmd/kubelet/app run()
// and NewMainKubelet do, since the validation leaves them out), except that
// it never falls back to the kubelet's lenient decoding: unknown and
// duplicate fields are errors, not warnings.
//
// A document without apiVersion or kind is taken as
// kubelet.config.k8s.io/v1beta1 KubeletConfiguration, since a kubeadm
// strategic merge patch need not repeat them. The v1beta1 defaults fill in
// what the document leaves out; kubeadm's own values for those fields are
// not known here.
func checkKubeletConfig(doc document) []string {
	scheme, codecs, err := kubeletscheme.NewSchemeAndCodecs(serializer.EnableStrict)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	add := func(prefix string, err error) {
		for _, e := range flatten(err) {
			problems = append(problems, prefix+doc.message(e))
		}
	}

	// What the kubelet's universal decoder does in one step (decode,
	// default, convert to the internal type), in three, so that feature
	// gates can be checked before the defaulting, which panics on an unknown
	// one. On a strict decoding error the decoder still returns the object,
	// so validation can report its problems too.
	defaultGVK := kubeletconfigv1beta1.SchemeGroupVersion.WithKind("KubeletConfiguration")
	notKubeletConfig := func() string {
		tm := typeMeta(doc.data)
		return fmt.Sprintf("decode: apiVersion %q kind %q is not a %s KubeletConfiguration",
			tm.APIVersion, tm.Kind, kubeletconfigv1beta1.SchemeGroupVersion)
	}
	obj, _, err := codecs.UniversalDeserializer().Decode(doc.data, &defaultGVK, nil)
	if err != nil {
		strictErr, ok := runtime.AsStrictDecodingError(err)
		switch {
		case ok && obj != nil:
			add("decode: ", utilerrors.NewAggregate(strictErr.Errors()))
		case runtime.IsNotRegisteredError(err):
			return []string{notKubeletConfig()}
		default:
			return []string{"decode: " + doc.message(err)}
		}
	}
	external, ok := obj.(*kubeletv1beta1.KubeletConfiguration)
	if !ok {
		return append(problems, notKubeletConfig())
	}
	if err := utilfeature.DefaultFeatureGate.DeepCopy().SetFromMap(external.FeatureGates); err != nil {
		return append(problems, "featureGates: "+err.Error())
	}
	scheme.Default(external)
	kc := &kubeletconfig.KubeletConfiguration{}
	if err := scheme.Convert(external, kc, nil); err != nil {
		return append(problems, "convert: "+err.Error())
	}

	// The validation looks at the host it runs on for two cgroup v1 checks
	// (failCgroupV1, and singleProcessOOMKill: false); this checks a
	// configuration for a node, not for this machine, and kinfra's nodes run
	// cgroup v2, where neither check fails. So validate as on such a node.
	kc.FailCgroupV1 = false
	kc.SingleProcessOOMKill = nil
	if err := kubeletvalidation.ValidateKubeletConfiguration(kc, utilfeature.DefaultFeatureGate); err != nil {
		add("validate: ", err)
	}

	// The fields that ValidateKubeletConfiguration leaves to the kubelet's
	// startup: cmd/kubelet/app run() parses these and exits on an error.
	if _, err := parseResourceList(kc.KubeReserved); err != nil {
		add("kubeReserved: ", err)
	}
	if _, err := parseResourceList(kc.SystemReserved); err != nil {
		add("systemReserved: ", err)
	}
	if _, err := cm.ParseQOSReserved(kc.QOSReserved); err != nil {
		add("qosReserved: ", err)
	}
	problems = append(problems, checkEviction(kc)...)
	return problems
}

// checkEviction parses the eviction settings as NewMainKubelet does, one
// entry at a time first so that an error names the entry (the kubelet's
// messages do not).
func checkEviction(kc *kubeletconfig.KubeletConfiguration) []string {
	var problems []string
	each := func(field string, m map[string]string, parse func(one map[string]string) error) {
		for _, k := range sets.List(sets.KeySet(m)) {
			if err := parse(map[string]string{k: m[k]}); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %q: %v", field, k, m[k], err))
			}
		}
	}
	each("evictionHard", kc.EvictionHard, func(one map[string]string) error {
		_, err := eviction.ParseThresholdConfig(nil, one, nil, nil, nil)
		return err
	})
	each("evictionSoft", kc.EvictionSoft, func(one map[string]string) error {
		_, err := eviction.ParseThresholdConfig(nil, nil, one, kc.EvictionSoftGracePeriod, nil)
		return err
	})
	each("evictionSoftGracePeriod", kc.EvictionSoftGracePeriod, func(one map[string]string) error {
		_, err := eviction.ParseThresholdConfig(nil, nil, nil, one, nil)
		return err
	})
	each("evictionMinimumReclaim", kc.EvictionMinimumReclaim, func(one map[string]string) error {
		_, err := eviction.ParseThresholdConfig(nil, nil, nil, nil, one)
		return err
	})
	if len(problems) > 0 {
		return problems
	}
	if _, err := eviction.ParseThresholdConfig(kc.EnforceNodeAllocatable, kc.EvictionHard, kc.EvictionSoft,
		kc.EvictionSoftGracePeriod, kc.EvictionMinimumReclaim); err != nil {
		problems = append(problems, "eviction: "+err.Error())
	}
	return problems
}

// parseResourceList is cmd/kubelet/app's parseResourceList (unexported
// there), which the kubelet applies to kubeReserved and systemReserved, less
// the rounding of CPU quantities that only matters to its result.
func parseResourceList(m map[string]string) (v1.ResourceList, error) {
	if len(m) == 0 {
		return nil, nil
	}
	rl := make(v1.ResourceList)
	for k, v := range m {
		switch v1.ResourceName(k) {
		// CPU, memory, local storage, and PID resources are supported.
		case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage, pidlimit.PIDs:
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return nil, fmt.Errorf("failed to parse quantity %q for %q resource: %w", v, k, err)
			}
			if q.Sign() == -1 {
				return nil, fmt.Errorf("resource quantity for %q cannot be negative: %v", k, v)
			}
			rl[v1.ResourceName(k)] = q
		default:
			return nil, fmt.Errorf("cannot reserve %q resource", k)
		}
	}
	return rl, nil
}

// flatten splits aggregated errors (as the validation returns) into one
// error per problem.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if agg, ok := err.(utilerrors.Aggregate); ok {
		var out []error
		for _, e := range agg.Errors() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
