package etcdops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// LatestSnapshot selects the newest snapshot in RestoreOptions.Snapshot.
const LatestSnapshot = "latest"

// DefaultPoll is how often the health gate reads the record.
const DefaultPoll = 10 * time.Second

// RestoreOptions are the choices of one `kinfra etcd restore`.
type RestoreOptions struct {
	// Snapshot is LatestSnapshot or a key under the cluster's prefix.
	Snapshot string
	// Force restores a snapshot that fails the identity checks.
	Force bool
	// DryRun prints every step and changes nothing.
	DryRun bool
	// NoReboot writes the request and reboots no master; RebootPending, on
	// resuming, reboots the masters of the slots not yet restored.
	NoReboot, RebootPending bool
	// Again restores once more a snapshot whose request is complete.
	Again bool
	// Wait is how long the health gate waits (0: not at all); Poll how
	// often it looks (default DefaultPoll).
	Wait, Poll time.Duration
	// Confirm is asked before the request is written (never on a dry run
	// or a resume); an error refuses the restore.
	Confirm func() error
	// Out receives the steps; Warn the warnings (both required).
	Out, Warn io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// RestoreResult is what a restore did.
type RestoreResult struct {
	Request RestoreRequest
	// Resumed: a pending request for the same snapshot was found and
	// waited for; AlreadyDone: it was complete, and nothing was done.
	Resumed, AlreadyDone bool
	// Written: the request was written (false on a dry run or resume).
	Written  bool
	Rebooted []Instance
}

// Instance is a running master.
type Instance struct {
	ID   string
	Slot int
}

func (i Instance) String() string { return i.ID + " (" + tags.EtcdMember(i.Slot) + ")" }

// ErrRefused marks a restore refused by a check (wrapped with the reasons).
var ErrRefused = errors.New("refused")

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Restore asks every master of cluster c to restore a snapshot and waits
// until they all have: find and check the snapshot, write the restore
// request for the next generation, reboot the masters, wait for the record.
func Restore(ctx context.Context, cl Clients, c spec.Cluster, o RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	out := func(step, format string, args ...any) {
		fmt.Fprintf(o.Out, "%-9s %s\n", step, fmt.Sprintf(format, args...))
	}
	would := func(s string) string {
		if o.DryRun {
			return "would " + s
		}
		return s
	}
	if !c.Backup.On() && c.Backup.Bucket == "" {
		return res, fmt.Errorf("%w: backups are disabled in this stack (cluster.backup.enabled: false), so there is no bucket to restore from", ErrRefused)
	}
	id, err := cl.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return res, fmt.Errorf("who am I (STS GetCallerIdentity): %w; check your AWS credentials", err)
	}
	account, caller := aws.ToString(id.Account), aws.ToString(id.Arn)
	loc := BackupLocation(c, account)
	names := ParameterNames(c)
	if o.DryRun {
		out("dry-run", "nothing is written and no instance is rebooted")
	}
	out("cluster", "%s (region %s, account %s, as %s)", c.Name, c.Region, account, caller)

	// a. The snapshot.
	snap, err := findSnapshot(ctx, cl.S3, loc, o.Snapshot)
	if err != nil {
		return res, err
	}
	version := ""
	if snap.VersionID != "" {
		version = " (version " + snap.VersionID + ")"
	}
	out("snapshot", "s3://%s/%s%s", loc.Bucket, snap.Key, version)
	age := o.Now().Sub(snap.TakenAt).Round(time.Second)
	out("", "taken %s (%s ago) by %s, revision %d, %s, generation %s, cluster id %s, etcd %s, kubernetes %s",
		snap.TakenAt.Format(time.RFC3339), age, or(snap.Metadata[MetaMember], snap.Member), snap.Revision, Bytes(snap.Size),
		or(snap.Metadata[MetaGeneration], "?"), or(snap.ClusterID, "?"), or(snap.Metadata[MetaEtcdVersion], "?"), or(snap.Metadata[MetaKubernetesVersion], "?"))

	// b. Is it this cluster's?
	rec, err := ReadRecord(ctx, cl.SSM, names)
	if err != nil {
		return res, err
	}
	out("record", "%s", describeRecord(rec))
	problems, fatal := checkSnapshot(ctx, cl.SSM, names, c, snap, rec, func(s string) { out("check", "%s", s) })
	if len(fatal) > 0 {
		return res, fmt.Errorf("%w: s3://%s/%s cannot be restored:\n  %s", ErrRefused, loc.Bucket, snap.Key, strings.Join(fatal, "\n  "))
	}
	if len(problems) > 0 {
		if !o.Force {
			return res, fmt.Errorf("%w: s3://%s/%s may not be a snapshot of cluster %s:\n  %s\nRestoring another cluster's data replaces this cluster's. Choose another snapshot (kinfra etcd backups lists them), or pass --force if you are sure",
				ErrRefused, loc.Bucket, snap.Key, c.Name, strings.Join(problems, "\n  "))
		}
		fmt.Fprintf(o.Warn, "WARNING: --force: restoring s3://%s/%s into cluster %s DESPITE:\n  %s\n", loc.Bucket, snap.Key, c.Name, strings.Join(problems, "\n  "))
	}

	// c. The request: resume a pending one for the same snapshot, or write
	// the next generation's.
	if r := rec.Request; r != nil && r.SameSnapshot(loc.Bucket, snap.Key, snap.VersionID) {
		done, pending := rec.Done(r.Generation)
		switch {
		case !done:
			res.Request, res.Resumed = *r, true
			out("resume", "request generation %d for this snapshot (%s by %s) is still pending (%s): not writing a new one", r.Generation, r.RequestedAt, r.RequestedBy, slotList(pending))
			if o.RebootPending && !o.NoReboot {
				if res.Rebooted, err = reboot(ctx, cl.EC2, c, pending, o.DryRun, out, would); err != nil {
					return res, err
				}
			}
			return res, waitFor(ctx, cl, c, names, r.Generation, o, out)
		case !o.Again:
			res.Request, res.AlreadyDone = *r, true
			if err := converged(rec, r.Generation, out); err != nil {
				return res, err
			}
			out("done", "this snapshot was restored as generation %d (%s by %s), and every member is at it; nothing to do (pass --again to restore it once more)", r.Generation, r.RequestedAt, r.RequestedBy)
			return res, nil
		}
	}
	n := rec.NextGeneration()
	if prev := rec.Request; prev != nil {
		if done, pending := rec.Done(prev.Generation); !done {
			fmt.Fprintf(o.Warn, "WARNING: request generation %d (s3://%s/%s) is still pending (%s); generation %d supersedes it\n", prev.Generation, prev.Bucket, prev.Key, slotList(pending), n)
		}
	}
	res.Request = RestoreRequest{
		Generation: n, Token: RestoreToken(c.Name, n),
		Bucket: loc.Bucket, Key: snap.Key, VersionID: snap.VersionID,
		SHA256: snap.Metadata[MetaSHA256], Size: snap.Size,
		RequestedAt: o.Now().UTC().Format(time.RFC3339), RequestedBy: caller,
	}
	body, _ := json.Marshal(res.Request)
	out("request", "%s generation %d to %s:", would("write"), n, names.Request)
	out("", "%s", body)
	if !o.DryRun {
		if o.Confirm != nil {
			if err := o.Confirm(); err != nil {
				return res, fmt.Errorf("%w: %v", ErrRefused, err)
			}
		}
		if err := PutRequest(ctx, cl.SSM, names, res.Request); err != nil {
			return res, err
		}
		res.Written = true
	}

	// d. Reboot the masters: each restores at boot, before etcd starts.
	if o.NoReboot {
		out("reboot", "none (--no-reboot): each master restores generation %d when it next boots", n)
	} else if res.Rebooted, err = reboot(ctx, cl.EC2, c, nil, o.DryRun, out, would); err != nil {
		return res, err
	}

	// e. The health gate.
	if o.DryRun {
		out("wait", "would wait up to %s until the %d member records and the cluster record show generation %d", o.Wait, c.Masters.Count, n)
		return res, nil
	}
	return res, waitFor(ctx, cl, c, names, n, o, out)
}

// findSnapshot finds the newest snapshot, or the one at key, and reads its
// metadata.
func findSnapshot(ctx context.Context, api S3API, loc Location, which string) (Snapshot, error) {
	if which == "" || which == LatestSnapshot {
		snaps, _, err := List(ctx, api, loc)
		if err != nil {
			return Snapshot{}, err
		}
		s, ok := Latest(snaps)
		if !ok {
			return Snapshot{}, fmt.Errorf("%w: no snapshots under %s; check the masters' backup timer (docs/masters.md, Backups)", ErrRefused, loc)
		}
		return s, Head(ctx, api, loc, &s)
	}
	key := strings.TrimPrefix(which, "s3://"+loc.Bucket+"/")
	s, ok := ParseSnapshotKey(loc, key)
	if !ok {
		return Snapshot{}, fmt.Errorf("%w: %q is not a snapshot key of this cluster: want %s/<tier>/<YYYYMMDDTHHMMSSZ>-etcd-<i>-r<revision>.db with tier one of %v (kinfra etcd backups lists them)",
			ErrRefused, which, loc.Prefix, bootstrap.BackupTiers)
	}
	return s, Head(ctx, api, loc, &s)
}

// checkSnapshot returns the reasons to think the snapshot is not this
// cluster's (which --force overrides) and the reasons it cannot be
// restored at all; report receives each passed check.
func checkSnapshot(ctx context.Context, api SSMAPI, n Names, c spec.Cluster, s Snapshot, rec Record, report func(string)) (problems, fatal []string) {
	m := s.Metadata
	var missing []string
	for _, k := range []string{MetaCluster, MetaClusterID, MetaGeneration, MetaRevision, MetaCACertHash, MetaSHA256} {
		if m[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("its metadata lacks %s (x-amz-meta-*): not a snapshot the masters uploaded", strings.Join(missing, ", ")))
	}
	if !hexSHA256.MatchString(m[MetaSHA256]) {
		fatal = append(fatal, fmt.Sprintf("its sha256 metadata %q is not a SHA-256 in hex: the masters verify the file against it before restoring", m[MetaSHA256]))
	}
	if got := m[MetaCluster]; got != "" {
		if got != c.Name {
			problems = append(problems, fmt.Sprintf("it is a snapshot of cluster %q (kinfra-cluster), not %q", got, c.Name))
		} else {
			report("kinfra-cluster " + got + ": this cluster")
		}
	}
	if got := m[MetaCACertHash]; got != "" {
		want, err := CACertHash(ctx, api, n)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("cannot compare its ca-cert-hash with the cluster CA: %v", err))
		case got != want:
			problems = append(problems, fmt.Sprintf("its ca-cert-hash %s is not the hash of the cluster CA in %s (%s): it was taken under another PKI", got, n.CACert, want))
		default:
			report("ca-cert-hash " + got + ": the cluster CA in " + n.CACert)
		}
	}
	if g := s.Generation; g != nil && rec.Cluster != nil && *g == rec.Cluster.Generation {
		if s.ClusterID != rec.Cluster.ClusterID {
			problems = append(problems, fmt.Sprintf("its cluster-id %s differs from the cluster record's %s at the same generation %d", s.ClusterID, rec.Cluster.ClusterID, *g))
		} else {
			report(fmt.Sprintf("cluster-id %s: the cluster record's (generation %d)", s.ClusterID, *g))
		}
	}
	if r, err := strconv.ParseInt(m[MetaRevision], 10, 64); err == nil && r != s.Revision {
		report(fmt.Sprintf("note: its revision metadata %d differs from the %d in its name", r, s.Revision))
	}
	return problems, fatal
}

// Masters finds the running master instances of cluster c, by slot.
func Masters(ctx context.Context, api EC2API, c spec.Cluster) ([]Instance, error) {
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + tags.Cluster), Values: []string{c.Name}},
		{Name: aws.String("tag-key"), Values: []string{tags.MasterSlot}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}}
	var found []Instance
	p := ec2.NewDescribeInstancesPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find the masters (EC2 DescribeInstances): %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				slot := -1
				for _, t := range i.Tags {
					if aws.ToString(t.Key) == tags.MasterSlot {
						if v, err := strconv.Atoi(aws.ToString(t.Value)); err == nil {
							slot = v
						}
					}
				}
				if slot >= 0 && slot < c.Masters.Count {
					found = append(found, Instance{ID: aws.ToString(i.InstanceId), Slot: slot})
				}
			}
		}
	}
	slices.SortFunc(found, func(a, b Instance) int {
		if a.Slot != b.Slot {
			return a.Slot - b.Slot
		}
		return strings.Compare(a.ID, b.ID)
	})
	return found, nil
}

// reboot reboots the running masters of slots (all slots if nil).
func reboot(ctx context.Context, api EC2API, c spec.Cluster, slots []int, dryRun bool, out func(step, format string, args ...any), would func(string) string) ([]Instance, error) {
	all, err := Masters(ctx, api, c)
	if err != nil {
		return nil, err
	}
	var targets []Instance
	seen := map[int]bool{}
	for _, i := range all {
		if slots == nil || slices.Contains(slots, i.Slot) {
			targets = append(targets, i)
			seen[i.Slot] = true
		}
	}
	for s := range c.Masters.Count {
		if (slots == nil || slices.Contains(slots, s)) && !seen[s] {
			out("reboot", "no running instance for %s: it restores when its Auto Scaling group starts one", tags.EtcdMember(s))
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	ids := make([]string, len(targets))
	list := make([]string, len(targets))
	for k, i := range targets {
		ids[k], list[k] = i.ID, i.String()
	}
	out("reboot", "%s %s", would("reboot"), strings.Join(list, ", "))
	if dryRun {
		return targets, nil
	}
	if _, err := api.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids}); err != nil {
		return nil, fmt.Errorf("reboot the masters %v: %w; the request is written: reboot them yourself, or run the command again with --reboot-pending", ids, err)
	}
	return targets, nil
}

// waitFor polls the record until every member and then the cluster record
// show generation n, and their cluster IDs agree.
func waitFor(ctx context.Context, cl Clients, c spec.Cluster, names Names, n int, o RestoreOptions, out func(step, format string, args ...any)) error {
	if o.Wait <= 0 {
		out("wait", "not waiting (--wait 0); run the same command again to wait for generation %d", n)
		return nil
	}
	out("wait", "up to %s, every %s, until the %d member records and the cluster record show generation %d", o.Wait, o.Poll, c.Masters.Count, n)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	last := ""
	var rec Record // the last record read in full
	for {
		got, err := ReadRecord(ctx, cl.SSM, names)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			rec = got
			done, pending := rec.Done(n)
			if done {
				return converged(rec, n, out)
			}
			at := c.Masters.Count - len(pending)
			status := fmt.Sprintf("%d/%d members at generation %d; waiting for %s", at, c.Masters.Count, n, slotList(pending))
			if len(pending) == 0 {
				status = fmt.Sprintf("every member at generation %d; waiting for the cluster record (%s)", n, describeCluster(rec.Cluster))
			}
			if status != last {
				out("wait", "%s", status)
				last = status
			}
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("stopped waiting for generation %d: %w", n, parent.Err())
			}
			return timeout(c, rec, n, o.Wait)
		case <-tick.C:
		}
	}
}

// converged checks that the restored members form one cluster.
func converged(rec Record, n int, out func(step, format string, args ...any)) error {
	ids := map[string][]string{}
	for _, m := range rec.Members {
		ids[m.ClusterID] = append(ids[m.ClusterID], m.Member)
	}
	if len(ids) != 1 || rec.Members[0].ClusterID != rec.Cluster.ClusterID {
		var parts []string
		for id, ms := range ids {
			parts = append(parts, fmt.Sprintf("%s: %s", id, strings.Join(ms, ", ")))
		}
		slices.Sort(parts)
		return fmt.Errorf("every member reports generation %d, but not one cluster: cluster ids %s; the cluster record says %s. Look at `journalctl -u kinfra-master` on the masters",
			n, strings.Join(parts, "; "), rec.Cluster.ClusterID)
	}
	out("done", "every member and the cluster record are at generation %d, cluster id %s", n, rec.Cluster.ClusterID)
	return nil
}

func timeout(c spec.Cluster, rec Record, n int, wait time.Duration) error {
	var missing []string
	for i := range c.Masters.Count {
		var m *MemberRecord
		if i < len(rec.Members) {
			m = rec.Members[i]
		}
		switch {
		case m == nil:
			missing = append(missing, fmt.Sprintf("%s: no member record", tags.EtcdMember(i)))
		case m.Generation != n:
			missing = append(missing, fmt.Sprintf("%s: member record at generation %d (written %s)", tags.EtcdMember(i), m.Generation, m.Time))
		}
	}
	if rec.Cluster == nil || rec.Cluster.Generation != n {
		missing = append(missing, "the cluster record: "+describeCluster(rec.Cluster))
	}
	return fmt.Errorf("timed out after %s waiting for generation %d:\n  %s\nThe request stays in place: each master restores it when it boots. Look at `journalctl -u kinfra-master` on those masters (SSM Session Manager), then run the same command again to resume waiting (add --reboot-pending to reboot the masters not yet restored)",
		wait, n, strings.Join(missing, "\n  "))
}

func describeCluster(r *ClusterRecord) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("generation %d, cluster id %s", r.Generation, r.ClusterID)
}

func describeRecord(r Record) string {
	var ms []string
	for i, m := range r.Members {
		if m == nil {
			ms = append(ms, tags.EtcdMember(i)+" none")
		} else {
			ms = append(ms, fmt.Sprintf("%s g%d", tags.EtcdMember(i), m.Generation))
		}
	}
	req := "no restore request"
	if r.Request != nil {
		req = fmt.Sprintf("restore request generation %d (%s)", r.Request.Generation, r.Request.Key)
	}
	return fmt.Sprintf("cluster %s; members %s; %s", describeCluster(r.Cluster), strings.Join(ms, ", "), req)
}

func slotList(slots []int) string {
	if len(slots) == 0 {
		return "none"
	}
	names := make([]string, len(slots))
	for k, s := range slots {
		names[k] = tags.EtcdMember(s)
	}
	return strings.Join(names, ", ")
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// Bytes is a size for people: 512 B, 3.4 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
