// Command kinfra-program is the Pulumi program of the kinfra project: one
// self-managed Kubernetes cluster per region stack.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/program"
)

func main() { pulumi.Run(program.Run) }
