package roll

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The roll's own cost, and its modeled wall time against kops (docs/roll.md
// has the results). Run with:
//
//	go test ./internal/roll -run '^$' -bench . -benchtime 200x

// simFleet is a cluster of masters on a virtual clock: a replaced slot's
// successor is InService launch after its replacement, its boot and etcd
// member are done at boot, its API server ready at api, its node Ready at
// node and its NLB target healthy at target (all after the replacement).
type simFleet struct {
	now                                   *time.Duration
	slots                                 int
	replacedAt                            []time.Duration
	launch, boot, api, node, target       time.Duration
	declared                              string
	versions                              []string
	ids                                   []int
	groupCalls, gateCalls, replaces, sets int
}

func newSimFleet(now *time.Duration, slots int) *simFleet {
	f := &simFleet{now: now, slots: slots, declared: "2",
		launch: 60 * time.Second, boot: 240 * time.Second, api: 245 * time.Second, node: 260 * time.Second,
		// An NLB target turns healthy after three checks 10 s apart.
		target: 270 * time.Second}
	for range slots {
		f.replacedAt = append(f.replacedAt, -1)
		f.versions = append(f.versions, "1")
		f.ids = append(f.ids, 0)
	}
	return f
}

func (f *simFleet) since(slot int) time.Duration {
	if f.replacedAt[slot] < 0 {
		return 1 << 62
	}
	return *f.now - f.replacedAt[slot]
}

func (f *simFleet) group(i int) Group {
	g := Group{Slot: i, Name: fmt.Sprintf("m-%d", i), GroupVersion: f.versions[i], Declared: f.declared}
	if f.since(i) >= f.launch {
		g.Instances = []Instance{{ID: fmt.Sprintf("i-%d-%d", i, f.ids[i]), Version: f.versions[i], LifecycleState: InService, PrivateIP: fmt.Sprintf("10.0.0.%d", i)}}
	}
	return g
}

func (f *simFleet) MasterGroups(context.Context) ([]Group, error) {
	var gs []Group
	for i := range f.slots {
		gs = append(gs, f.group(i))
	}
	return gs, nil
}
func (f *simFleet) Group(_ context.Context, name string) (Group, error) {
	f.groupCalls++
	var i int
	fmt.Sscanf(name, "m-%d", &i)
	return f.group(i), nil
}
func (f *simFleet) SetVersion(_ context.Context, g Group, v string) error {
	f.sets++
	f.versions[g.Slot] = v
	return nil
}
func (f *simFleet) Replace(_ context.Context, g Group, _ string) error {
	f.replaces++
	f.replacedAt[g.Slot], f.ids[g.Slot] = *f.now, f.ids[g.Slot]+1
	return nil
}
func (f *simFleet) TargetHealth(_ context.Context, id string) (string, error) {
	return f.state(id, f.target, "healthy", "initial")
}

func (f *simFleet) state(id string, at time.Duration, yes, no string) (string, error) {
	var slot, n int
	fmt.Sscanf(id, "i-%d-%d", &slot, &n)
	if f.since(slot) >= at {
		return yes, nil
	}
	return no, nil
}

func (f *simFleet) slotOf(ip string) int {
	var a, b, c, d int
	fmt.Sscanf(ip, "%d.%d.%d.%d", &a, &b, &c, &d)
	return d
}

// simGates answer from the same clock.
type simGates struct{ f *simFleet }

func (g simGates) check(slot int, at time.Duration) error {
	g.f.gateCalls++
	if g.f.replacedAt[slot] >= 0 && g.f.since(slot) < at {
		return fmt.Errorf("not yet")
	}
	return nil
}
func (g simGates) Etcd(context.Context) error {
	for i := range g.f.slots {
		if err := g.check(i, g.f.boot); err != nil {
			return err
		}
	}
	return nil
}
func (g simGates) APIReady(_ context.Context, ip string) error {
	return g.check(g.f.slotOf(ip), g.f.api)
}
func (g simGates) NodeReady(_ context.Context, ip string) error {
	return g.check(g.f.slotOf(ip), g.f.node)
}
func (g simGates) Booted(_ context.Context, slot int, _ string) error {
	return g.check(slot, g.f.boot)
}
func (g simGates) Snapshot(context.Context) (string, error) { return "s3://sim", nil }

// simulate rolls slots masters on the virtual clock and returns the wall
// time, and the fleet for its counters.
func simulate(b *testing.B, slots int, poll time.Duration) (time.Duration, *simFleet) {
	var now time.Duration
	f := newSimFleet(&now, slots)
	r := &Roller{Fleet: f, Gates: simGates{f}, Opts: Options{Timeout: 15 * time.Minute, Poll: poll}}
	r.sleep = func(ctx context.Context, d time.Duration) error {
		now += d
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 0 {
			return ctx.Err()
		}
		return nil
	}
	rolled, err := r.Masters(context.Background())
	if err != nil || len(rolled) != slots {
		b.Fatalf("rolled %v: %v", rolled, err)
	}
	return now, f
}

// kopsModel is the wall time of `kops rolling-update cluster` on the same
// masters with its defaults: per master, terminate, wait the 15 s
// --master-interval, then validate every 30 s until the cluster validates
// (the new master's node Ready with its control-plane pods: here when its
// node is Ready), twice (--validate-count 2, 10 s apart).
func kopsModel(f *simFleet, slots int) time.Duration {
	const interval, tick, again = 15 * time.Second, 30 * time.Second, 10 * time.Second
	var total time.Duration
	for range slots {
		t := interval
		for t < f.node {
			t += tick
		}
		total += t + again
	}
	return total
}

func BenchmarkRollOwnOverheadPer3Masters(b *testing.B) {
	var calls int
	for b.Loop() {
		_, f := simulate(b, 3, 10*time.Second)
		calls = f.groupCalls + f.gateCalls
	}
	b.ReportMetric(float64(calls), "checks/roll")
}

func BenchmarkRollModeledWallTime(b *testing.B) {
	for _, slots := range []int{3, 5} {
		b.Run(fmt.Sprintf("masters=%d", slots), func(b *testing.B) {
			var wall time.Duration
			var f *simFleet
			for b.Loop() {
				wall, f = simulate(b, slots, 10*time.Second)
			}
			b.ReportMetric(wall.Seconds(), "kinfra-s")
			b.ReportMetric(kopsModel(f, slots).Seconds(), "kops-s")
		})
	}
}
