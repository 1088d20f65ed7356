package bootstrap

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// A master's boot status: what its boot (kinfra-master-boot) is doing, in a
// durable per-slot record outside the instance, so that `kinfra roll`, an
// operator and the boot-failure alarm see a master whose boot failed while
// its instance looks healthy to EC2. docs/masters.md ("Boot retries and
// status").
//
// The record is one SSM String parameter per slot,
// <ParameterPrefix>/masters/master-<slot>, holding MasterStatus as JSON.
// The boot writes it at every step of every attempt and when the attempt
// ends; a write that fails is logged and never fails the boot. Pulumi does
// not manage it.
const (
	// StatusGroup is the parameter group of the masters' boot status,
	// beside the etcd record's.
	StatusGroup = "masters"
	// BootMetricNamespace is where each failed boot attempt publishes
	// BootFailuresMetric (value 1, dimension BootMetricDimension: the
	// cluster's name); the boot-failure alarm sums it.
	BootMetricNamespace = "kinfra/masters"
	BootFailuresMetric  = "BootFailures"
	BootMetricDimension = "ClusterName"
)

// MasterStatusRecord is slot i's boot status parameter below the parameter
// prefix.
func MasterStatusRecord(slot int) string { return StatusGroup + "/master-" + strconv.Itoa(slot) }

// MasterState is where a master's boot is.
type MasterState string

// The states of a boot attempt. An attempt starts booting, and ends ready
// or failed; a failed attempt is retried by systemd (kinfra-master.service),
// which starts a new attempt.
const (
	// MasterBooting: an attempt is running; Step is the step it is in.
	MasterBooting MasterState = "booting"
	// MasterReady: the attempt ended with this master's control plane up:
	// etcd healthy, the node built and the local API server ready.
	MasterReady MasterState = "ready"
	// MasterFailed: the attempt stopped in Step with Message. systemd
	// starts the next attempt after a delay (30 s growing to 10 minutes),
	// forever, unless the instance is replaced.
	MasterFailed MasterState = "failed"
)

// MasterStatus is the JSON value of a slot's boot status record. Its fields
// only ever grow; readers should ignore fields they do not know.
type MasterStatus struct {
	// Cluster and Slot say whose status it is.
	Cluster string `json:"cluster"`
	Slot    int    `json:"slot"`
	// InstanceID is the instance that wrote it. A status of another
	// instance than the one a reader waits for is a predecessor's: the
	// record is per slot, not per instance.
	InstanceID string      `json:"instanceId"`
	State      MasterState `json:"state"`
	// Attempt counts this instance's boot attempts since it started: 1 for
	// the first, one more for each retry (or manual restart).
	Attempt int `json:"attempt"`
	// Step is the boot step the attempt is in (booting), failed in
	// (failed) or ended with (ready): identity, volume, dns,
	// etcd-certificates, etcd-volume, etcd-restore, etcd, pki,
	// kubeadm-init, control-plane, mark-control-plane, cluster-record,
	// backups, api-server, upgrade-cluster. docs/masters.md lists them.
	Step string `json:"step"`
	// Message is the last lines of a failed attempt's output (printable
	// ASCII, at most MaxStatusMessage bytes); empty otherwise.
	Message string `json:"message"`
	// KubernetesVersion is the version this master's rendered
	// configuration runs, e.g. v1.37.2.
	KubernetesVersion string `json:"kubernetesVersion"`
	// Time is when the status was written (RFC 3339, UTC, seconds).
	Time time.Time `json:"time"`
}

// MaxStatusMessage bounds MasterStatus.Message, so that the record stays
// within SSM's 4 KB for a standard parameter however its JSON escapes it.
const MaxStatusMessage = 1500

// ParseMasterStatus reads a status record's value. It refuses a value that
// is not a status (no slot's instance, state or time), so that a reader
// never acts on a garbled record.
func ParseMasterStatus(value string) (MasterStatus, error) {
	var s MasterStatus
	if err := json.Unmarshal([]byte(value), &s); err != nil {
		return s, fmt.Errorf("master boot status: %w", err)
	}
	switch {
	case s.State != MasterBooting && s.State != MasterReady && s.State != MasterFailed:
		return s, fmt.Errorf("master boot status: state %q is not %s, %s or %s", s.State, MasterBooting, MasterReady, MasterFailed)
	case s.Time.IsZero():
		return s, fmt.Errorf("master boot status: no time")
	case s.Attempt < 1:
		return s, fmt.Errorf("master boot status: attempt %d", s.Attempt)
	}
	return s, nil
}
