package spec

import (
	"github.com/kinfra-dev/kinfra/internal/instancetypes"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Architectures the images pipeline builds for, as EC2 and the instance
// type table name them.
const (
	ArchX86 = instancetypes.X86_64
	ArchARM = instancetypes.ARM64
)

// checkInstanceType refuses a name that is not an EC2 instance type kinfra
// can launch (masters, node pools and image builds alike) and returns the
// architecture of one that is.
func checkInstanceType(errs *validate.Errors, path, name string) (arch string, ok bool) {
	if problem := instancetypes.Check(name); problem != "" {
		errs.Addf(path, "%q %s", name, problem)
		return "", false
	}
	return instancetypes.Arch(name), true
}

// checkPipelineArch refuses a type whose architecture is not the one the
// pipeline builds images for; instead says how to avoid the pipeline's
// image ("give the pool its own image").
func (i Images) checkPipelineArch(errs *validate.Errors, path, name, arch, instead string) {
	if i.archValid() && arch != i.Architecture {
		errs.Addf(path, "%s is %s, but the pipeline builds %s images (cluster.images.architecture); use %s types or %s", name, arch, i.Architecture, i.Architecture, instead)
	}
}
