package etcdops

// The NOSPACE runbook as a command (`kinfra etcd recover-space`;
// docs/masters.md, "NOSPACE: recovering etcd's space").

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// SpaceOptions are the options of RecoverSpace.
type SpaceOptions struct {
	// DryRun reads the members and the alarms, prints the steps and changes
	// nothing.
	DryRun bool
	// DefragTimeout bounds the compaction and each member's defragmentation
	// (etcd blocks the member meanwhile; a large database takes minutes).
	// Default 10 minutes.
	DefragTimeout time.Duration
	// Wait bounds the wait for a defragmented member to be healthy again.
	// Default 5 minutes; Poll is the interval between checks (default 2s).
	Wait, Poll time.Duration
	// Out receives the report.
	Out io.Writer
}

// SpaceMember is one member as RecoverSpace found and left it.
type SpaceMember struct {
	Name     string
	ID       uint64
	Endpoint string
	Leader   bool
	// DBSize, DBSizeInUse and Quota before, in bytes; DBSizeAfter once
	// defragmented (0 in a dry run).
	DBSize, DBSizeInUse, Quota, DBSizeAfter int64
}

// SpaceResult is what RecoverSpace did.
type SpaceResult struct {
	// Alarms are the alarms it found ("NOSPACE on etcd-1").
	Alarms []string
	// Revision is the revision it compacted to (would, in a dry run).
	Revision int64
	// Members in the order it defragments them: followers, then the leader.
	Members []SpaceMember
	// Disarmed is the number of NOSPACE alarms it disarmed.
	Disarmed int
}

// SpaceCheckKey is the key RecoverSpace writes and deletes to prove that
// writes succeed again (outside /registry: the API server never sees it).
const SpaceCheckKey = "kinfra-recover-space-check"

// DisarmLimit is the share of its quota a member's database may fill after
// compaction and defragmentation for RecoverSpace to disarm NOSPACE: above
// it the data itself fills the quota, and the next writes would raise the
// alarm again.
const DisarmLimit = 0.9

// RecoverSpace is etcd's NOSPACE runbook: with every member answering and
// no other alarm than NOSPACE, it compacts the keyspace to the current
// revision, defragments the members one at a time (the followers first,
// the leader last), each once every member is healthy and waiting until it
// is healthy again, disarms NOSPACE, and checks that a write succeeds and
// no alarm is left. Compaction keeps every key's latest value; only the
// history before it goes (the API server compacts it every 5 minutes
// anyway). Run again, it does the same: every step is safe to repeat.
func RecoverSpace(ctx context.Context, e Etcd, o SpaceOptions) (SpaceResult, error) {
	if o.DefragTimeout <= 0 {
		o.DefragTimeout = 10 * time.Minute
	}
	if o.Wait <= 0 {
		o.Wait = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	var res SpaceResult
	cli, err := e.Client()
	if err != nil {
		return res, err
	}
	defer cli.Close()

	members, err := survey(ctx, e, cli)
	if err != nil {
		return res, err
	}
	res.Members = members
	fmt.Fprintf(out, "etcd: %d members, every one answering\n", len(members))
	for _, m := range members {
		role := "follower"
		if m.Leader {
			role = "leader"
		}
		fmt.Fprintf(out, "  %-8s %-8s database %s, %s in use, quota %s  (%s)\n", m.Name, role,
			Bytes(m.DBSize), Bytes(m.DBSizeInUse), quota(m.Quota), m.Endpoint)
	}

	actx, cancel := context.WithTimeout(ctx, e.CallTimeout())
	alarms, err := cli.AlarmList(actx)
	cancel()
	if err != nil {
		return res, fmt.Errorf("alarm list: %w", err)
	}
	names := map[uint64]string{}
	for _, m := range members {
		names[m.ID] = m.Name
	}
	var nospace []*etcdserverpb.AlarmMember
	for _, a := range alarms.Alarms {
		name := names[a.MemberID]
		if name == "" {
			name = fmt.Sprintf("member %x", a.MemberID)
		}
		res.Alarms = append(res.Alarms, fmt.Sprintf("%s on %s", a.Alarm, name))
		if a.Alarm != etcdserverpb.AlarmType_NOSPACE {
			return res, fmt.Errorf("the cluster raises alarm %s on %s: not a space problem, and this command disarms only NOSPACE; nothing was changed (docs/masters.md, \"NOSPACE\")", a.Alarm, name)
		}
		nospace = append(nospace, a)
	}
	if len(nospace) == 0 {
		fmt.Fprintln(out, "Alarms: none (no NOSPACE: compacting and defragmenting anyway, nothing to disarm)")
	} else {
		fmt.Fprintf(out, "Alarms: %s\n", strings.Join(res.Alarms, ", "))
	}

	gctx, cancel := context.WithTimeout(ctx, e.CallTimeout())
	cur, err := cli.Get(gctx, SpaceCheckKey)
	cancel()
	if err != nil {
		return res, fmt.Errorf("reading the current revision: %w", err)
	}
	res.Revision = cur.Header.Revision

	verb := ""
	if o.DryRun {
		verb = "would "
	}
	fmt.Fprintln(out, "Steps:")
	step := 0
	say := func(format string, args ...any) {
		step++
		fmt.Fprintf(out, "  %d. %s%s\n", step, verb, fmt.Sprintf(format, args...))
	}
	say("compact the keyspace to revision %d, the current one (every key keeps its latest value; older revisions go)", res.Revision)
	for _, m := range members {
		role := "a follower"
		if m.Leader {
			role = "the leader, last"
		}
		say("defragment %s (%s) once every member is healthy, then wait until it is healthy again", m.Name, role)
	}
	if len(nospace) > 0 {
		say("disarm NOSPACE on %d member(s), unless a database still fills more than %.0f%% of its quota", len(nospace), DisarmLimit*100)
	}
	say("write and delete the key %s, and check that no alarm is left", SpaceCheckKey)
	if o.DryRun {
		fmt.Fprintln(out, "Dry run: nothing was changed.")
		return res, nil
	}

	cctx, cancel := context.WithTimeout(ctx, o.DefragTimeout)
	_, err = cli.Compact(cctx, res.Revision, clientv3.WithCompactPhysical())
	cancel()
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		fmt.Fprintf(out, "Revision %d was already compacted.\n", res.Revision)
	case err != nil:
		return res, fmt.Errorf("compacting to revision %d: %w", res.Revision, err)
	default:
		fmt.Fprintf(out, "Compacted to revision %d.\n", res.Revision)
	}

	for i := range res.Members {
		m := &res.Members[i]
		if err := allHealthy(ctx, e, res.Members); err != nil {
			return res, fmt.Errorf("not defragmenting %s: %w (every member must be healthy; run again once it is)", m.Name, err)
		}
		after, err := defragment(ctx, e, *m, o)
		if err != nil {
			return res, err
		}
		m.DBSizeAfter = after
		fmt.Fprintf(out, "Defragmented %s: database %s -> %s; healthy again.\n", m.Name, Bytes(m.DBSize), Bytes(after))
	}

	if len(nospace) > 0 {
		for _, m := range res.Members {
			if m.Quota > 0 && float64(m.DBSizeAfter) > DisarmLimit*float64(m.Quota) {
				return res, fmt.Errorf("%s's database is still %s of its %s quota after compaction and defragmentation: the data itself fills it, and writes would raise NOSPACE again at once. NOSPACE stays armed; delete data (deletes work under NOSPACE) or raise quota-backend-bytes, then run this again", m.Name, Bytes(m.DBSizeAfter), Bytes(m.Quota))
			}
		}
		for _, a := range nospace {
			dctx, cancel := context.WithTimeout(ctx, e.CallTimeout())
			_, err := cli.AlarmDisarm(dctx, (*clientv3.AlarmMember)(a))
			cancel()
			if err != nil {
				return res, fmt.Errorf("disarming %s on %s: %w", a.Alarm, names[a.MemberID], err)
			}
			res.Disarmed++
		}
		fmt.Fprintf(out, "Disarmed NOSPACE on %d member(s).\n", res.Disarmed)
	}

	if err := checkWrite(ctx, e, cli); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "A write succeeded and no alarm is left: etcd takes writes again.\n")
	return res, nil
}

// survey reads every member's status on its own endpoint and their names,
// followers first, the leader last. Every member must answer and have a
// leader, and the cluster must have exactly the members the stack declares.
func survey(ctx context.Context, e Etcd, cli *clientv3.Client) ([]SpaceMember, error) {
	lctx, cancel := context.WithTimeout(ctx, e.CallTimeout())
	list, err := cli.MemberList(lctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("member list: %w", err)
	}
	if len(list.Members) != len(e.Endpoints) {
		return nil, fmt.Errorf("the cluster has %d members, the stack declares %d: nothing was changed", len(list.Members), len(e.Endpoints))
	}
	names := map[uint64]string{}
	for _, m := range list.Members {
		names[m.ID] = m.Name
	}
	var members []SpaceMember
	var problems []string
	for _, ep := range e.Endpoints {
		st, err := status(ctx, e, ep)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", ep, err))
			continue
		}
		members = append(members, SpaceMember{Name: names[st.Header.MemberId], ID: st.Header.MemberId, Endpoint: ep,
			Leader: st.Leader == st.Header.MemberId, DBSize: st.DbSize, DBSizeInUse: st.DbSizeInUse, Quota: st.DbSizeQuota})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("every member must answer before anything is changed: %s", strings.Join(problems, "; "))
	}
	sort.SliceStable(members, func(i, j int) bool { return !members[i].Leader && members[j].Leader })
	return members, nil
}

// status is one member's status, from its own endpoint, once it has a
// leader and serves a linearizable read (which needs a quorum): what
// `etcdctl endpoint health` asks, but for alarms (NOSPACE is why we are here).
func status(ctx context.Context, e Etcd, ep string) (*clientv3.StatusResponse, error) {
	cli, err := e.Client(ep)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, e.CallTimeout())
	defer cancel()
	st, err := cli.Status(ctx, ep)
	if err != nil {
		return nil, fmt.Errorf("no status: %w", err)
	}
	if st.Leader == 0 {
		return nil, errors.New("has no leader")
	}
	if _, err := cli.Get(ctx, SpaceCheckKey); err != nil {
		return nil, fmt.Errorf("linearizable read failed: %w", err)
	}
	return st, nil
}

func allHealthy(ctx context.Context, e Etcd, members []SpaceMember) error {
	var problems []string
	for _, m := range members {
		if _, err := status(ctx, e, m.Endpoint); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", m.Name, err))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// defragment defragments m and waits until it is healthy again; it returns
// its database's size afterwards.
func defragment(ctx context.Context, e Etcd, m SpaceMember, o SpaceOptions) (int64, error) {
	cli, err := e.Client(m.Endpoint)
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	dctx, cancel := context.WithTimeout(ctx, o.DefragTimeout)
	_, err = cli.Defragment(dctx, m.Endpoint)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("defragmenting %s: %w", m.Name, err)
	}
	deadline := time.Now().Add(o.Wait)
	for {
		st, err := status(ctx, e, m.Endpoint)
		if err == nil {
			return st.DbSize, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s is not healthy %s after its defragmentation: %w", m.Name, o.Wait, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// checkWrite writes and deletes SpaceCheckKey and checks the alarm list.
func checkWrite(ctx context.Context, e Etcd, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, e.CallTimeout())
	defer cancel()
	if _, err := cli.Put(ctx, SpaceCheckKey, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("a write still fails: %w", err)
	}
	if _, err := cli.Delete(ctx, SpaceCheckKey); err != nil {
		return fmt.Errorf("deleting %s: %w", SpaceCheckKey, err)
	}
	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("alarm list: %w", err)
	}
	for _, a := range alarms.Alarms {
		return fmt.Errorf("alarm %s is raised on member %x after the recovery", a.Alarm, a.MemberID)
	}
	return nil
}

func quota(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return Bytes(n)
}
