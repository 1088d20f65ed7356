package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kubernetes/pkg/controlplane"
	"sigs.k8s.io/yaml"
)

var (
	// objectScheme holds the built-in types: client-go's scheme, plus the
	// two groups that every kube-apiserver serves from its embedded
	// extension and aggregation servers rather than the core one
	// (CustomResourceDefinition, APIService).
	objectScheme = runtime.NewScheme()
	// objectDecoder decodes JSON or YAML into the registered Go type of its
	// apiVersion and kind, without defaulting or conversion. It is strict:
	// unknown fields, duplicate fields and unregistered kinds are errors.
	objectDecoder runtime.Decoder
	// servedByDefault is which group versions kube-apiserver serves without
	// --runtime-config. client-go's scheme also has removed versions
	// (extensions/v1beta1, batch/v1beta1, ...) and ones disabled by default
	// (alpha, most beta), which a default cluster rejects.
	servedByDefault = controlplane.DefaultAPIResourceConfigSource()
	// servedElsewhere are the group versions of the embedded extension and
	// aggregation servers, which servedByDefault does not cover.
	servedElsewhere = map[schema.GroupVersion]bool{
		apiextensionsv1.SchemeGroupVersion:   true,
		apiregistrationv1.SchemeGroupVersion: true,
	}
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(objectScheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(objectScheme))
	utilruntime.Must(apiregistrationv1.AddToScheme(objectScheme))
	objectDecoder = serializer.NewCodecFactory(objectScheme, serializer.EnableStrict).UniversalDeserializer()
}

// checkObjectsFile checks every document of a multi-document YAML file.
func checkObjectsFile(path string, stdout io.Writer) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	n, problems := checkObjects(data)
	if len(problems) == 0 {
		if n == 0 {
			return []string{"no objects"}
		}
		fmt.Fprintf(stdout, "ok %s (%d objects)\n", path, n)
	}
	return problems
}

// checkObjects returns how many objects data holds (the items of a List
// count, not the List) and the problems found, each saying where.
func checkObjects(data []byte) (int, []string) {
	docs, err := splitDocuments(data)
	if err != nil {
		return 0, []string{err.Error()}
	}
	var problems []string
	count := 0
	seen := map[objectKey]string{}
	for _, doc := range docs {
		if doc.isEmpty() {
			continue
		}
		objs, errs := decodeDocument(doc)
		problems = append(problems, errs...)
		for _, o := range objs {
			count++
			if prev, dup := seen[o.key]; dup {
				problems = append(problems, fmt.Sprintf("%s: %s is also defined in %s", o.where, o.key, prev))
				continue
			}
			seen[o.key] = o.where
		}
	}
	return count, problems
}

// objectKey identifies an object as kubectl apply does (the version does
// not matter: two versions of one kind are the same object).
type objectKey struct {
	group, kind, namespace, name string
}

func (k objectKey) String() string {
	gk := schema.GroupKind{Group: k.group, Kind: k.kind}.String()
	if k.namespace != "" {
		return fmt.Sprintf("%s %s/%s", gk, k.namespace, k.name)
	}
	return fmt.Sprintf("%s %s", gk, k.name)
}

// decoded is a good object and where it is.
type decoded struct {
	key   objectKey
	where string
}

func decodeDocument(doc document) ([]decoded, []string) {
	label := doc.String() + describe(doc.data)
	if problem := doc.notMapping(); problem != "" {
		return nil, []string{label + ": " + problem}
	}
	return decodeObject(doc.data, doc.String(), label, doc.message)
}

// decodeObject decodes one document, or one item of a List (as JSON), and
// checks it; a List yields its items.
func decodeObject(raw []byte, where, label string, message func(error) string) ([]decoded, []string) {
	obj, gvk, err := objectDecoder.Decode(raw, nil, nil)
	if err != nil {
		return nil, decodeProblems(label, raw, err, message)
	}
	if meta.IsListType(obj) {
		return decodeList(obj, gvk, where, label)
	}
	if problem := checkObject(obj, gvk); problem != "" {
		return nil, []string{label + ": " + problem}
	}
	return []decoded{{key: keyOf(obj, gvk), where: where}}, nil
}

func decodeProblems(label string, raw []byte, err error, message func(error) string) []string {
	switch {
	case runtime.IsNotRegisteredError(err):
		tm := typeMeta(raw)
		return []string{fmt.Sprintf("%s: unknown kind %q in apiVersion %q: not a built-in Kubernetes type",
			label, tm.Kind, tm.APIVersion)}
	case runtime.IsMissingKind(err):
		return []string{label + ": kind is not set"}
	case runtime.IsMissingVersion(err):
		return []string{label + ": apiVersion is not set"}
	}
	if strictErr, ok := runtime.AsStrictDecodingError(err); ok {
		var out []string
		for _, e := range strictErr.Errors() {
			out = append(out, label+": "+message(e))
		}
		return out
	}
	return []string{label + ": " + message(err)}
}

// decodeList checks the items of a List: a v1 List, whose items are raw and
// decoded here like documents, or a typed list such as ConfigMapList, whose
// items were decoded with it.
func decodeList(list runtime.Object, gvk *schema.GroupVersionKind, where, label string) ([]decoded, []string) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", label, err)}
	}
	var out []decoded
	var problems []string
	for i, item := range items {
		itemWhere := fmt.Sprintf("%s item %d", where, i+1)
		if unknown, ok := item.(*runtime.Unknown); ok {
			objs, errs := decodeObject(unknown.Raw, itemWhere, itemWhere+describe(unknown.Raw), plainMessage)
			out = append(out, objs...)
			problems = append(problems, errs...)
			continue
		}
		itemGVK := gvk.GroupVersion().WithKind(strings.TrimSuffix(gvk.Kind, "List"))
		itemLabel := itemWhere + describeObject(itemGVK.Kind, item)
		if problem := checkObject(item, &itemGVK); problem != "" {
			problems = append(problems, itemLabel+": "+problem)
			continue
		}
		out = append(out, decoded{key: keyOf(item, &itemGVK), where: itemWhere})
	}
	return out, problems
}

// checkObject checks what strict decoding does not: that the kind is an
// object one can create (not a List, Status or options type), that a
// default kube-apiserver serves its group version, and that it is named.
func checkObject(obj runtime.Object, gvk *schema.GroupVersionKind) string {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Sprintf("%s %s is not an API object with metadata", gvk.GroupVersion(), gvk.Kind)
	}
	gv := gvk.GroupVersion()
	if !servedElsewhere[gv] {
		gvr, _ := meta.UnsafeGuessKindToResource(*gvk)
		if !servedByDefault.ResourceEnabled(gvr) {
			return fmt.Sprintf("apiVersion %q is not served by a default kube-apiserver %s (removed, or alpha/beta and disabled by default); use a served version of %s",
				gv.String(), kubernetesVersion(), gvk.Kind)
		}
	}
	if acc.GetName() == "" {
		return "metadata.name is not set (generateName is not supported: objects are applied)"
	}
	return ""
}

func keyOf(obj runtime.Object, gvk *schema.GroupVersionKind) objectKey {
	acc, _ := meta.Accessor(obj)
	return objectKey{group: gvk.Group, kind: gvk.Kind, namespace: acc.GetNamespace(), name: acc.GetName()}
}

func plainMessage(err error) string {
	return document{}.message(err)
}

// describe returns " (Kind namespace/name)" from a document, read leniently
// so that it works for documents that fail strict decoding, leaving out
// what is not set.
func describe(raw []byte) string {
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(raw, &head); err != nil {
		return ""
	}
	return describeParts(head.Kind, head.Metadata.Namespace, head.Metadata.Name)
}

func describeObject(kind string, obj runtime.Object) string {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return describeParts(kind, "", "")
	}
	return describeParts(kind, acc.GetNamespace(), acc.GetName())
}

func describeParts(kind, namespace, name string) string {
	if name != "" && namespace != "" {
		name = namespace + "/" + name
	}
	parts := strings.TrimSpace(kind + " " + name)
	if parts == "" {
		return ""
	}
	return " (" + parts + ")"
}
