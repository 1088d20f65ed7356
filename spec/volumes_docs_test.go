package spec

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The volume size limits are stated in the README's quick reference and in
// docs/config.md; both must say what the spec enforces (they once told
// users an 8 GiB etcd volume was fine, which the spec refuses).
func TestDocsStateTheVolumeSizeLimitsTheSpecEnforces(t *testing.T) {
	line := func(file, key string) string {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "| `"+key+"`") {
				return l
			}
		}
		t.Fatalf("%s has no table row for %s", file, key)
		return ""
	}
	readme, config := "../README.md", "../docs/config.md"
	for _, c := range []struct {
		file, key, want string
	}{
		{readme, "cluster.masters.rootVolume", fmt.Sprintf("`sizeGiB` ≥ %d", MinRootVolumeGiB)},
		{readme, "cluster.masters.etcdVolume", fmt.Sprintf("`sizeGiB` ≥ %d", MinEtcdVolumeGiB)},
		{config, "cluster.masters.etcdVolume", fmt.Sprintf("at least %d GiB", MinEtcdVolumeGiB)},
		{config, "….sizeGiB", fmt.Sprintf("%d to %d, root and etcd alike", MinRootVolumeGiB, MaxVolumeGiB)},
	} {
		if l := line(c.file, c.key); !strings.Contains(l, c.want) {
			t.Errorf("%s, %s: the row does not say %q:\n%s", c.file, c.key, c.want, l)
		}
	}
	if MinRootVolumeGiB != MinEtcdVolumeGiB {
		t.Errorf("docs/config.md says root and etcd volumes share a minimum; reword it for %d and %d", MinRootVolumeGiB, MinEtcdVolumeGiB)
	}
	// No other size range anywhere in the row.
	if m := regexp.MustCompile(`\b(\d+) \((root|etcd)\)`).FindString(line(config, "….sizeGiB")); m != "" {
		t.Errorf("docs/config.md states a per-volume minimum %q", m)
	}
}
