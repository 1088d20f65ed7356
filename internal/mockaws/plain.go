package mockaws

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type pulumirpcPropertyDeps = pulumirpc.RegisterResourceRequest_PropertyDependencies

// Secret is how a secret value appears in recorded inputs and plans.
const Secret = "[secret]"

// Unknown is how a value not known until deployment appears.
const Unknown = "[unknown]"

// Plain turns a property map into JSON-ready Go values: secrets are masked,
// unknowns marked, resource references replaced by their URN.
func Plain(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v.IsNull() {
			continue
		}
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Secret
	case v.IsComputed():
		return Unknown
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return Unknown
		}
		if o.Secret {
			return Secret
		}
		return plainValue(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsObject():
		return Plain(v.ObjectValue())
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = plainValue(e)
		}
		return out
	case v.IsNull():
		return nil
	}
	return v.Mappable()
}
