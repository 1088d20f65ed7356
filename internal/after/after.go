// Package after builds the option that makes a resource wait for others,
// from custom resources only.
//
// Pulumi's Go SDK expands a dependency on a local component resource into
// the children the component has at the moment the dependent's registration
// goroutine looks (pulumi/pulumi#7737: "the exact set of children depends on
// exactly when the component resource is observed"). A child whose own
// registration goroutine has not yet started is silently left out, so the
// wait holds on one run and not on the next. Taking pulumi.CustomResource
// makes that mistake a compile error: a caller names the resources it waits
// for.
package after

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// All waits for every resource of rs. Nil ones (a nil interface or a
// typed nil pointer: an add-on turned off) are left out.
func All(rs ...pulumi.CustomResource) pulumi.ResourceOption {
	deps := make([]pulumi.Resource, 0, len(rs))
	for _, r := range rs {
		if !isNil(r) {
			deps = append(deps, r)
		}
	}
	return pulumi.DependsOn(deps)
}

func isNil(r pulumi.CustomResource) bool {
	if r == nil {
		return true
	}
	v := reflect.ValueOf(r)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
