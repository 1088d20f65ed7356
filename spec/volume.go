package spec

import "github.com/kinfra-dev/kinfra/internal/validate"

// Volume is an EBS volume's size and performance.
type Volume struct {
	// SizeGiB of the volume. Default: the role's (DefaultRootVolumeGiB,
	// DefaultEtcdVolumeGiB).
	SizeGiB int `json:"sizeGiB,omitempty"`
	// Type is gp3, io1 or io2. Default [DefaultVolumeType].
	Type string `json:"type,omitempty"`
	// Iops: gp3 3000-16000 (default [DefaultGp3Iops]), io1/io2 100-64000
	// (required).
	Iops int `json:"iops,omitempty"`
	// ThroughputMiBps: gp3 only, 125-1000. Default [DefaultGp3Throughput].
	ThroughputMiBps int `json:"throughputMiBps,omitempty"`
}

// Volume defaults. The etcd volume's size is the masters'.
const (
	DefaultRootVolumeGiB = 100
	DefaultVolumeType    = "gp3"
	DefaultGp3Iops       = 3000
	DefaultGp3Throughput = 125
)

// WithDefaults returns v with its defaults applied.
func (v Volume) WithDefaults(sizeGiB int) Volume {
	if v.SizeGiB == 0 {
		v.SizeGiB = sizeGiB
	}
	if v.Type == "" {
		v.Type = DefaultVolumeType
	}
	if v.Type == "gp3" {
		if v.Iops == 0 {
			v.Iops = DefaultGp3Iops
		}
		if v.ThroughputMiBps == 0 {
			v.ThroughputMiBps = DefaultGp3Throughput
		}
	}
	return v
}

// Volume sizes kinfra accepts. etcd's backend is capped at 8 GiB (its
// quota), and its write-ahead log and snapshots need room beside it.
const (
	MinRootVolumeGiB = 20
	MinEtcdVolumeGiB = 20
	// MaxVolumeGiB is EBS's largest gp3, io1 and io2 volume.
	MaxVolumeGiB = 16384
)

func (v Volume) check(path string, minGiB int) validate.Errors {
	var errs validate.Errors
	if v.SizeGiB < minGiB || v.SizeGiB > MaxVolumeGiB {
		errs.Addf(path+".sizeGiB", "%d is not allowed; use %d to %d GiB", v.SizeGiB, minGiB, MaxVolumeGiB)
	}
	switch v.Type {
	case "gp3":
		if v.Iops < 3000 || v.Iops > 16000 {
			errs.Addf(path+".iops", "%d is not allowed for gp3; use 3000 to 16000", v.Iops)
		} else if v.SizeGiB >= minGiB && v.Iops > 500*v.SizeGiB {
			errs.Addf(path+".iops", "%d is more than gp3 allows for %d GiB (500 IOPS per GiB); use at most %d or a larger volume", v.Iops, v.SizeGiB, 500*v.SizeGiB)
		}
		if v.ThroughputMiBps < 125 || v.ThroughputMiBps > 1000 {
			errs.Addf(path+".throughputMiBps", "%d is not allowed for gp3; use 125 to 1000", v.ThroughputMiBps)
		} else if v.ThroughputMiBps*4 > v.Iops {
			errs.Addf(path+".throughputMiBps", "%d needs at least %d IOPS on gp3 (0.25 MiB/s per IOPS); raise iops", v.ThroughputMiBps, v.ThroughputMiBps*4)
		}
	case "io1", "io2":
		perGiB := map[string]int{"io1": 50, "io2": 1000}[v.Type]
		if v.Iops < 100 || v.Iops > 64000 {
			errs.Addf(path+".iops", "%d is not allowed for %s; use 100 to 64000 (required: provisioned IOPS is what %s is for)", v.Iops, v.Type, v.Type)
		} else if v.SizeGiB >= minGiB && v.Iops > perGiB*v.SizeGiB {
			errs.Addf(path+".iops", "%d is more than %s allows for %d GiB (%d IOPS per GiB); use at most %d or a larger volume", v.Iops, v.Type, v.SizeGiB, perGiB, perGiB*v.SizeGiB)
		}
		if v.ThroughputMiBps != 0 {
			errs.Addf(path+".throughputMiBps", "%d is set, but only gp3 takes a throughput; remove it", v.ThroughputMiBps)
		}
	default:
		errs.Addf(path+".type", "%q is not allowed; use gp3, io1 or io2 (etcd needs consistent latency: no gp2, st1 or sc1)", v.Type)
	}
	return errs
}
